// JobStore: durable jobs for the server, in a Db's column families jobs, events and
// checkpoints. Documents are opaque JSON (the api layer defines them), each stored in
// record_frame.h's checked form. A record that fails its check or does not parse is never
// returned: scans report it as a DroppedRecord naming the job, single reads as a corrupt
// error. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/result.h"
#include "storage/db.h"

namespace agentrt::storage {

struct StoredEvent {
  std::int64_t seq = 0;
  nlohmann::json data;
};
// A record that was not returned: what is "job", "event 12" or "checkpoint step:map/3";
// reason says which check failed ("checksum mismatch", "does not parse as JSON", ...).
struct DroppedRecord {
  std::string job_id;
  std::string what;
  std::string reason;
};
struct JobScan {
  std::vector<std::pair<std::string, nlohmann::json>> jobs;
  std::vector<DroppedRecord> dropped;
};

class JobStore {
 public:
  // A store over `db` (which must stay open). Errors: invalid_argument for a null db.
  static Result<std::unique_ptr<JobStore>> open(std::shared_ptr<Db> db);

  // Writes (replaces) a job document; with `idempotency_key`, also the index key -> id, in one
  // WriteBatch. sync: the WAL is synced before returning. Errors: invalid_argument for an id
  // that is empty, longer than 256 bytes or holds '\0', or an idempotency key that already
  // names another job; io (nothing was written).
  Status put_job(const std::string& id, const nlohmann::json& doc, bool sync,
                 const std::string& idempotency_key = "");
  // The job's document, or nullopt when there is none. Errors: corrupt (the record failed
  // its check; the message names the job and the reason), io.
  Result<std::optional<nlohmann::json>> get_job(const std::string& id);
  // The job id recorded for `key` by put_job, or nullopt. Errors: corrupt, io.
  Result<std::optional<std::string>> find_idempotent(const std::string& key);
  // Every job document, in id order; corrupt ones are in `dropped` (never in `jobs`). A
  // damaged table part way through ends the scan with a dropped entry for what follows.
  // `dropped` also names the jobs, events and checkpoints that the Db's repair set aside on
  // open (Db::lost_keys) and that the store no longer holds. Errors: io.
  Result<JobScan> scan_jobs();

  // Appends to the job's event log; returns its sequence number (1, 2, ...; per job, in call
  // order for one job). Errors: invalid_argument (id), io.
  Result<std::int64_t> append_event(const std::string& id, const nlohmann::json& data, bool sync);
  // Events with seq > after, in order, at most `limit` (none when limit <= 0); corrupt ones
  // are skipped and reported in dropped. Errors: io.
  Result<std::vector<StoredEvent>> events_after(const std::string& id, std::int64_t after,
                                                int limit,
                                                std::vector<DroppedRecord>* dropped = nullptr);

  // Writes (replaces) the job's checkpoint under `key`. Errors: invalid_argument (id), io.
  Status put_checkpoint(const std::string& id, const std::string& key, const nlohmann::json& doc,
                        bool sync);
  // The job's checkpoints, in key order; corrupt ones are reported in dropped. Errors: io.
  Result<std::vector<std::pair<std::string, nlohmann::json>>> checkpoints(
      const std::string& id, std::vector<DroppedRecord>* dropped = nullptr);

  // Removes the job's document, events, checkpoints and idempotency keys, in one synced
  // WriteBatch. Errors: invalid_argument (id), io.
  Status erase_job(const std::string& id);

 private:
  // The next event sequence number of one job, found on first use from its last event key.
  struct EventLog {
    std::mutex mu;  // orders one job's appends
    std::int64_t next = 0;
  };
  explicit JobStore(std::shared_ptr<Db> db);
  Result<std::shared_ptr<EventLog>> event_log(const std::string& id);

  std::shared_ptr<Db> db_;
  std::mutex idempotency_mu_;  // orders idempotent put_job's check-then-write
  std::mutex logs_mu_;         // guards logs_
  std::map<std::string, std::shared_ptr<EventLog>> logs_;
};

}  // namespace agentrt::storage
