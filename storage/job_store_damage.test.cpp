// JobStore under damaged records: a job document, an event or a checkpoint whose stored
// value was flipped, truncated, extended, given another magic or version, filled with text
// that is not JSON, or swapped for another job's valid value. Each is never returned, is
// reported with its job id, what it was and why, and every other record still loads. Also
// an I/O error during put_job: an error, and nothing written.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <functional>

#include "storage/job_store.h"
#include "storage/job_store_keys.h"
#include "storage/kv_store_testing.h"
#include "storage/record_frame.h"

namespace agentrt::storage {
namespace {

using nlohmann::json;
using testing::TempDir;

// Recomputes the checksum of a framed value stored under `key`, so only the other checks
// can catch what was changed.
void reseal(std::string& v, const std::string& key) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, v.data(), 16);
  XXH3_64bits_update(st, key.data(), key.size());
  XXH3_64bits_update(st, v.data() + kRecordHeaderBytes, v.size() - kRecordHeaderBytes);
  std::uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  for (std::size_t i = 0; i < 8; ++i, h >>= 8)
    v[16 + i] = static_cast<char>(h & 0xff);
}

struct Damage {
  const char* name;
  const char* reason;  // part of the reported reason
  // Damages `v`, stored under `key`; `other` is a valid value of another job's record.
  std::function<void(std::string& v, const std::string& key, const std::string& other)> apply;
};

const Damage kDamages[] = {
    {"FlippedPayloadByte", "checksum mismatch",
     [](std::string& v, const std::string&, const std::string&) { v.back() ^= 0x20; }},
    {"FlippedChecksumByte", "checksum mismatch",
     [](std::string& v, const std::string&, const std::string&) { v[17] ^= 0x01; }},
    {"TruncatedPayload", "size",
     [](std::string& v, const std::string&, const std::string&) { v.resize(v.size() - 3); }},
    {"ExtendedPayload", "size",
     [](std::string& v, const std::string&, const std::string&) { v += "}}"; }},
    {"TruncatedHeader", "truncated",
     [](std::string& v, const std::string&, const std::string&) { v.resize(10); }},
    {"Empty", "truncated",
     [](std::string& v, const std::string&, const std::string&) { v.clear(); }},
    {"WrongMagicResealed", "bad magic",
     [](std::string& v, const std::string& key, const std::string&) {
       v[0] ^= 0x01;
       reseal(v, key);
     }},
    {"NextVersionResealed", "format version 2",
     [](std::string& v, const std::string& key, const std::string&) {
       v[4] = static_cast<char>(kRecordFormatVersion + 1);
       reseal(v, key);
     }},
    {"BadJsonResealed", "does not parse as JSON",
     [](std::string& v, const std::string& key, const std::string&) {
       v = frame_record(key, "{\"state\": \"runn");
     }},
    {"ValidValueOfAnotherJob", "checksum mismatch",
     [](std::string& v, const std::string&, const std::string& other) { v = other; }},
};

enum class Target { job, event, checkpoint };

struct Case {
  Damage damage;
  Target target;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.damage.name << " of target " << static_cast<int>(c.target);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  static const char* kTargets[] = {"Job", "Event", "Checkpoint"};
  return std::string(kTargets[static_cast<int>(info.param.target)]) + info.param.damage.name;
}

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (Target t : {Target::job, Target::event, Target::checkpoint}) {
    for (const auto& d : kDamages)
      out.push_back({d, t});
  }
  return out;
}

// Jobs j-1..j-3, each with a document, events 1..3 and checkpoints step:a and step:b.
void fill(const std::filesystem::path& dir) {
  auto db = Db::open(dir);
  ASSERT_TRUE(db.ok());
  auto jobs = JobStore::open(*db);
  ASSERT_TRUE(jobs.ok());
  for (const std::string id : {"j-1", "j-2", "j-3"}) {
    ASSERT_TRUE((*jobs)->put_job(id, {{"id", id}, {"state", "running"}}, true).ok());
    for (int i = 1; i <= 3; ++i)
      ASSERT_TRUE((*jobs)->append_event(id, {{"n", i}}, false).ok());
    for (const char* step : {"step:a", "step:b"})
      ASSERT_TRUE((*jobs)->put_checkpoint(id, step, {{"step", step}}, false).ok());
  }
}

class JobStoreDamage : public ::testing::TestWithParam<Case> {};

TEST_P(JobStoreDamage, IsReportedWithItsJobNeverReturnedAndTheRestLoads) {
  const Case c = GetParam();
  TempDir dir;
  fill(dir.path());
  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok());
  // Damage j-2's record through the raw handle; `other` is j-1's record of the same kind.
  Cf cf = Cf::jobs;
  std::string key, other_key;
  switch (c.target) {
    case Target::job:
      key = job_keys::doc("j-2"), other_key = job_keys::doc("j-1");
      break;
    case Target::event:
      cf = Cf::events, key = job_keys::event("j-2", 2), other_key = job_keys::event("j-1", 2);
      break;
    case Target::checkpoint:
      cf = Cf::checkpoints, key = job_keys::checkpoint("j-2", "step:a");
      other_key = job_keys::checkpoint("j-1", "step:a");
      break;
  }
  auto* raw = (*db)->raw();
  std::string value, other;
  ASSERT_TRUE(raw->Get({}, (*db)->cf(cf), key, &value).ok());
  ASSERT_TRUE(raw->Get({}, (*db)->cf(cf), other_key, &other).ok());
  c.damage.apply(value, key, other);
  ASSERT_TRUE(raw->Put({}, (*db)->cf(cf), key, value).ok());
  ASSERT_TRUE((*db)->flush().ok());  // and through a table file
  db = Result<std::shared_ptr<Db>>(make_error(ErrorCode::internal, "closed"));

  auto reopened = Db::open(dir.path());
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->recovered_problems().empty());  // sound to RocksDB
  auto jobs = JobStore::open(*reopened);
  ASSERT_TRUE(jobs.ok());
  auto scan = (*jobs)->scan_jobs();
  ASSERT_TRUE(scan.ok());
  std::vector<DroppedRecord> dropped = scan->dropped;
  std::vector<std::string> loaded;
  for (const auto& [id, doc] : scan->jobs) {
    loaded.push_back(id);
    EXPECT_EQ(doc["id"], id);
    auto events = (*jobs)->events_after(id, 0, 10, &dropped);
    ASSERT_TRUE(events.ok());
    auto checkpoints = (*jobs)->checkpoints(id, &dropped);
    ASSERT_TRUE(checkpoints.ok());
    const bool damaged = id == "j-2";
    EXPECT_EQ(events->size(), damaged && c.target == Target::event ? 2u : 3u) << id;
    for (const auto& e : *events)
      EXPECT_EQ(e.data["n"], e.seq);
    EXPECT_EQ(checkpoints->size(), damaged && c.target == Target::checkpoint ? 1u : 2u) << id;
    for (const auto& [step, doc2] : *checkpoints)
      EXPECT_EQ(doc2["step"], step);
  }
  const std::vector<std::string> expect_loaded =
      c.target == Target::job ? std::vector<std::string>{"j-1", "j-3"}
                              : std::vector<std::string>{"j-1", "j-2", "j-3"};
  EXPECT_EQ(loaded, expect_loaded);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].job_id, "j-2");
  const char* what[] = {"job", "event 2", "checkpoint step:a"};
  EXPECT_EQ(dropped[0].what, what[static_cast<int>(c.target)]);
  EXPECT_NE(dropped[0].reason.find(c.damage.reason), std::string::npos) << dropped[0].reason;

  if (c.target == Target::job) {
    auto got = (*jobs)->get_job("j-2");
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code, ErrorCode::corrupt);
    EXPECT_NE(got.error().message.find("j-2"), std::string::npos) << got.error().message;
    EXPECT_TRUE((*jobs)->events_after("j-2", 0, 10)->size() == 3u);  // its log still reads
  }
  if (c.target == Target::event) {  // numbering goes on past the damaged event
    EXPECT_EQ(*(*jobs)->append_event("j-2", json::object(), false), 4);
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, JobStoreDamage, ::testing::ValuesIn(all_cases()), case_name);

TEST(JobStoreIo, AFailedPutJobReturnsAnErrorAndWritesNothing) {
  TempDir dir;
  auto fs = std::make_shared<testing::FaultyFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  DbOptions options;
  options.env = env.get();
  {
    auto db = Db::open(dir.path(), options);
    ASSERT_TRUE(db.ok());
    auto jobs = JobStore::open(*db);
    ASSERT_TRUE(jobs.ok());
    ASSERT_TRUE((*jobs)->put_job("j-1", json::object(), true).ok());
    fs->fail_writes = true;
    auto put = (*jobs)->put_job("j-2", {{"big", std::string(10000, 'x')}}, true, "key-2");
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(put.error().code, ErrorCode::io);
    EXPECT_NE(put.error().message.find("j-2"), std::string::npos) << put.error().message;
    EXPECT_GT(fs->failed.load(), 0);
    fs->fail_writes = false;
    auto got = (*jobs)->get_job("j-2");
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value());
    EXPECT_FALSE((*jobs)->find_idempotent("key-2")->has_value());
  }
  // Nor after a restart: the WAL holds nothing of it.
  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  auto jobs = JobStore::open(*db);
  ASSERT_TRUE(jobs.ok());
  auto scan = (*jobs)->scan_jobs();
  ASSERT_TRUE(scan.ok());
  ASSERT_EQ(scan->jobs.size(), 1u);
  EXPECT_EQ(scan->jobs[0].first, "j-1");
  EXPECT_TRUE(scan->dropped.empty());
  EXPECT_FALSE((*jobs)->find_idempotent("key-2")->has_value());
}

// Text without repeats, so that it is stored as it is even in a compressed block.
std::string note(const std::string& id) {
  std::uint64_t x = std::hash<std::string>{}(id) | 1;
  std::string out;
  for (int i = 0; i < 6; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    out += std::to_string(x >> 20) + ",";
  }
  return out;
}

// The corruption test at the file level: bytes flipped in the table file holding
// jobs' documents. The store opens (repaired), names each job it lost, and loads the rest.
TEST(JobStoreRepair, JobsOfADamagedTableFileAreNamedAndTheRestLoad) {
  TempDir dir;
  {
    auto db = Db::open(dir.path());
    ASSERT_TRUE(db.ok());
    auto jobs = JobStore::open(*db);
    ASSERT_TRUE(jobs.ok());
    for (const std::string id : {"j-1", "j-2", "j-3"}) {
      ASSERT_TRUE((*jobs)->put_job(id, {{"id", id}, {"note", note(id)}}, true).ok());
      ASSERT_TRUE((*jobs)->append_event(id, {{"n", 1}}, false).ok());
    }
    ASSERT_TRUE((*db)->flush().ok());
    ASSERT_TRUE((*jobs)->put_job("j-4", {{"id", "j-4"}}, true).ok());  // in the WAL only
  }
  const auto table = testing::largest_table(dir.path(), Cf::jobs);
  ASSERT_FALSE(table.empty());
  const auto at = testing::read_file(table).find(note("j-2"));  // a literal even if compressed
  ASSERT_NE(at, std::string::npos);
  testing::flip(table, at + 3);

  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  std::string problems;
  for (const auto& p : (*db)->recovered_problems())
    problems += p + "\n";
  EXPECT_NE(problems.find("column family jobs"), std::string::npos) << problems;
  auto jobs = JobStore::open(*db);
  ASSERT_TRUE(jobs.ok());
  auto scan = (*jobs)->scan_jobs();
  ASSERT_TRUE(scan.ok());
  ASSERT_EQ(scan->jobs.size(), 1u);
  EXPECT_EQ(scan->jobs[0].first, "j-4");
  std::vector<std::string> named;
  for (const auto& d : scan->dropped) {
    EXPECT_EQ(d.what, "job");
    EXPECT_NE(d.reason.find("lost"), std::string::npos) << d.reason;
    named.push_back(d.job_id);
  }
  EXPECT_EQ(named, (std::vector<std::string>{"j-1", "j-2", "j-3"}));
  EXPECT_EQ((*jobs)->events_after("j-2", 0, 10)->size(), 1u);  // other column families kept
}

}  // namespace
}  // namespace agentrt::storage
