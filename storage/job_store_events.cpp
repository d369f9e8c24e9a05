// JobStore's event log: per-job sequence numbers and paged reads.
#include <rocksdb/db.h>

#include "storage/job_store.h"
#include "storage/job_store_keys.h"
#include "storage/json_record.h"

namespace agentrt::storage {

namespace {

bool is_event_of(const rocksdb::Slice& key, std::string_view prefix) {
  return key.size() == prefix.size() + 8 && key.ToStringView().substr(0, prefix.size()) == prefix;
}

}  // namespace

// The job's log, with `next` set from its last stored event on first use.
Result<std::shared_ptr<JobStore::EventLog>> JobStore::event_log(const std::string& id) {
  std::lock_guard lock(logs_mu_);
  auto& log = logs_[id];
  if (log) return log;
  const std::string prefix = job_keys::prefix(id);
  std::unique_ptr<rocksdb::Iterator> it(db_->raw()->NewIterator({}, db_->cf(Cf::events)));
  it->SeekForPrev(job_keys::event(id, -1));  // the largest key a seq can have
  if (!it->status().ok()) {
    logs_.erase(id);
    return rocksdb_error("job store", "read events of " + id, it->status());
  }
  auto fresh = std::make_shared<EventLog>();
  fresh->next = 1;
  if (it->Valid() && is_event_of(it->key(), prefix)) {
    fresh->next = job_keys::event_seq(it->key().ToStringView()) + 1;
  }
  log = fresh;
  return log;
}

Result<std::int64_t> JobStore::append_event(const std::string& id, const nlohmann::json& data,
                                            bool sync) {
  AGENTRT_TRY(job_keys::check_id(id));
  auto log = event_log(id);
  if (!log.ok()) return log.error();
  std::lock_guard lock((*log)->mu);
  const std::int64_t seq = (*log)->next;
  const std::string key = job_keys::event(id, seq);
  rocksdb::WriteOptions o;
  o.sync = sync;
  auto s = db_->raw()->Put(o, db_->cf(Cf::events), key, encode_json_record(key, data));
  if (!s.ok()) return rocksdb_error("job store", "append event to " + id, s);
  (*log)->next = seq + 1;
  return seq;
}

Result<std::vector<StoredEvent>> JobStore::events_after(const std::string& id, std::int64_t after,
                                                        int limit,
                                                        std::vector<DroppedRecord>* dropped) {
  AGENTRT_TRY(job_keys::check_id(id));
  std::vector<StoredEvent> out;
  if (limit <= 0) return out;
  const std::string prefix = job_keys::prefix(id);
  std::unique_ptr<rocksdb::Iterator> it(db_->raw()->NewIterator({}, db_->cf(Cf::events)));
  std::int64_t seq = std::max<std::int64_t>(after, 0);
  for (it->Seek(job_keys::event(id, seq + 1));
       it->Valid() && is_event_of(it->key(), prefix) && std::ssize(out) < limit; it->Next()) {
    seq = job_keys::event_seq(it->key().ToStringView());
    auto data = decode_json_record(it->key().ToStringView(), it->value().ToStringView());
    if (data.ok()) {
      out.push_back({seq, std::move(*data)});
    } else if (dropped != nullptr) {
      dropped->push_back({id, "event " + std::to_string(seq), data.error().message});
    }
  }
  if (it->status().IsCorruption()) {
    if (dropped != nullptr) {
      dropped->push_back(
          {id, "events after " + std::to_string(seq), "unreadable: " + it->status().ToString()});
    }
  } else if (!it->status().ok()) {
    return rocksdb_error("job store", "read events of " + id, it->status());
  }
  return out;
}

}  // namespace agentrt::storage
