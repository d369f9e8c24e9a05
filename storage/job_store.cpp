#include "storage/job_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <set>

#include "storage/job_store_keys.h"
#include "storage/json_record.h"

namespace agentrt::storage {

namespace {

rocksdb::WriteOptions write_options(bool sync) {
  rocksdb::WriteOptions o;
  o.sync = sync;
  return o;
}

bool starts_with(const rocksdb::Slice& s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.ToStringView().substr(0, prefix.size()) == prefix;
}

// A damaged table part way through a scan: the rest of it is reported, not returned.
DroppedRecord unreadable(const std::string& job_id, const std::string& what,
                         const rocksdb::Status& s) {
  return {job_id, what, "unreadable: " + s.ToString()};
}

// Records that repair set aside on open (Db::lost_keys) and the store no longer holds.
void report_lost(Db& db, std::vector<DroppedRecord>& dropped) {
  std::set<std::pair<Cf, std::string>> seen;
  for (const auto& lost : db.lost_keys()) {
    const std::string& key = lost.key;
    if (!seen.insert({lost.cf, key}).second) continue;
    std::string id, what;
    if (lost.cf == Cf::jobs) {
      if (key.size() < 2 || key[0] != 'd') continue;
      id = key.substr(1), what = "job";
    } else if (lost.cf == Cf::events || lost.cf == Cf::checkpoints) {
      const auto nul = key.find('\0');
      if (nul == std::string::npos || nul == 0) continue;
      id = key.substr(0, nul);
      if (lost.cf == Cf::events) {
        if (key.size() != nul + 9) continue;
        what = "event " + std::to_string(job_keys::event_seq(key));
      } else {
        what = "checkpoint " + key.substr(nul + 1);
      }
    } else {
      continue;
    }
    std::string value;
    if (!db.raw()->Get({}, db.cf(lost.cf), key, &value).IsNotFound()) continue;
    dropped.push_back({id, what, "lost: its table file was damaged and set aside by repair"});
  }
}

}  // namespace

JobStore::JobStore(std::shared_ptr<Db> db) : db_(std::move(db)) {}

Result<std::unique_ptr<JobStore>> JobStore::open(std::shared_ptr<Db> db) {
  if (!db) return make_error(ErrorCode::invalid_argument, "job store: no database");
  return std::unique_ptr<JobStore>(new JobStore(std::move(db)));
}

Status JobStore::put_job(const std::string& id, const nlohmann::json& doc, bool sync,
                         const std::string& idempotency_key) {
  AGENTRT_TRY(job_keys::check_id(id));
  auto* jobs = db_->cf(Cf::jobs);
  rocksdb::WriteBatch batch;
  const std::string key = job_keys::doc(id);
  auto s = batch.Put(jobs, key, encode_json_record(key, doc));
  std::unique_lock<std::mutex> lock;
  if (s.ok() && !idempotency_key.empty()) {
    lock = std::unique_lock(idempotency_mu_);
    auto existing = find_idempotent(idempotency_key);
    if (existing.ok() && existing->has_value() && **existing != id) {
      return make_error(ErrorCode::invalid_argument,
                        "job store: idempotency key already names job " + **existing);
    }
    const std::string index = job_keys::idempotency(idempotency_key);
    s = batch.Put(jobs, index, encode_json_record(index, id));
    if (s.ok()) s = batch.Put(jobs, job_keys::reverse_prefix(id) + idempotency_key, "");
  }
  if (s.ok()) s = db_->raw()->Write(write_options(sync), &batch);
  if (!s.ok()) return rocksdb_error("job store", "put job " + id, s);
  return ok_status();
}

Result<std::optional<nlohmann::json>> JobStore::get_job(const std::string& id) {
  AGENTRT_TRY(job_keys::check_id(id));
  const std::string key = job_keys::doc(id);
  std::string value;
  auto s = db_->raw()->Get({}, db_->cf(Cf::jobs), key, &value);
  if (s.IsNotFound()) return std::optional<nlohmann::json>();
  if (s.IsCorruption()) return make_error(ErrorCode::corrupt, "job " + id + ": " + s.ToString());
  if (!s.ok()) return rocksdb_error("job store", "get job " + id, s);
  auto doc = decode_json_record(key, value);
  if (!doc.ok()) return doc.error().with_context("job " + id);
  return std::optional<nlohmann::json>(std::move(*doc));
}

Result<std::optional<std::string>> JobStore::find_idempotent(const std::string& key) {
  const std::string index = job_keys::idempotency(key);
  std::string value;
  auto s = db_->raw()->Get({}, db_->cf(Cf::jobs), index, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return rocksdb_error("job store", "get idempotency key", s);
  auto id = decode_json_record(index, value);
  if (!id.ok()) return id.error().with_context("idempotency key");
  if (!id->is_string()) return make_error(ErrorCode::corrupt, "idempotency key: not a job id");
  return std::optional<std::string>(id->get<std::string>());
}

Result<JobScan> JobStore::scan_jobs() {
  JobScan out;
  const std::string prefix = job_keys::doc("");
  std::unique_ptr<rocksdb::Iterator> it(db_->raw()->NewIterator({}, db_->cf(Cf::jobs)));
  std::string last;
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next()) {
    const std::string key = it->key().ToString();
    last = key.substr(prefix.size());
    auto doc = decode_json_record(key, it->value().ToStringView());
    if (doc.ok()) {
      out.jobs.emplace_back(last, std::move(*doc));
    } else {
      out.dropped.push_back({last, "job", doc.error().message});
    }
  }
  if (it->status().IsCorruption()) {
    out.dropped.push_back(unreadable("", "jobs after '" + last + "'", it->status()));
  } else if (!it->status().ok()) {
    return rocksdb_error("job store", "scan jobs", it->status());
  }
  report_lost(*db_, out.dropped);
  return out;
}

Status JobStore::put_checkpoint(const std::string& id, const std::string& key,
                                const nlohmann::json& doc, bool sync) {
  AGENTRT_TRY(job_keys::check_id(id));
  const std::string row = job_keys::checkpoint(id, key);
  auto s = db_->raw()->Put(write_options(sync), db_->cf(Cf::checkpoints), row,
                           encode_json_record(row, doc));
  if (!s.ok()) return rocksdb_error("job store", "put checkpoint " + id + " " + key, s);
  return ok_status();
}

Result<std::vector<std::pair<std::string, nlohmann::json>>> JobStore::checkpoints(
    const std::string& id, std::vector<DroppedRecord>* dropped) {
  AGENTRT_TRY(job_keys::check_id(id));
  std::vector<std::pair<std::string, nlohmann::json>> out;
  const std::string prefix = job_keys::prefix(id);
  std::unique_ptr<rocksdb::Iterator> it(db_->raw()->NewIterator({}, db_->cf(Cf::checkpoints)));
  for (it->Seek(prefix); it->Valid() && starts_with(it->key(), prefix); it->Next()) {
    const std::string row = it->key().ToString();
    std::string key = row.substr(prefix.size());
    auto doc = decode_json_record(row, it->value().ToStringView());
    if (doc.ok()) {
      out.emplace_back(std::move(key), std::move(*doc));
    } else if (dropped != nullptr) {
      dropped->push_back({id, "checkpoint " + key, doc.error().message});
    }
  }
  if (it->status().IsCorruption()) {
    if (dropped != nullptr) dropped->push_back(unreadable(id, "checkpoints", it->status()));
  } else if (!it->status().ok()) {
    return rocksdb_error("job store", "read checkpoints of " + id, it->status());
  }
  return out;
}

Status JobStore::erase_job(const std::string& id) {
  AGENTRT_TRY(job_keys::check_id(id));
  auto* jobs = db_->cf(Cf::jobs);
  rocksdb::WriteBatch batch;
  auto s = batch.Delete(jobs, job_keys::doc(id));
  const std::string reverse = job_keys::reverse_prefix(id);
  std::unique_ptr<rocksdb::Iterator> it(db_->raw()->NewIterator({}, jobs));
  for (it->Seek(reverse); s.ok() && it->Valid() && starts_with(it->key(), reverse); it->Next()) {
    s = batch.Delete(jobs, job_keys::idempotency(it->key().ToStringView().substr(reverse.size())));
  }
  if (s.ok()) s = it->status();
  if (s.ok()) s = batch.DeleteRange(jobs, reverse, "r" + job_keys::prefix_end(id));
  for (Cf cf : {Cf::events, Cf::checkpoints}) {
    if (s.ok()) s = batch.DeleteRange(db_->cf(cf), job_keys::prefix(id), job_keys::prefix_end(id));
  }
  if (s.ok()) s = db_->raw()->Write(write_options(true), &batch);
  if (!s.ok()) return rocksdb_error("job store", "erase job " + id, s);
  std::lock_guard lock(logs_mu_);
  logs_.erase(id);
  return ok_status();
}

}  // namespace agentrt::storage
