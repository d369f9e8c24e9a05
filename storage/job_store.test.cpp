// JobStore: job documents (replace, scan in id order, idempotency keys), per-job event logs
// (numbering, paging, numbering after reopen), checkpoints, erase, and persistence.
#include "storage/job_store.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "storage/kv_store_testing.h"

namespace agentrt::storage {
namespace {

using nlohmann::json;
using testing::TempDir;

struct Opened {
  std::shared_ptr<Db> db;
  std::unique_ptr<JobStore> jobs;
};

Opened open(const std::filesystem::path& dir) {
  Opened o;
  auto db = Db::open(dir);
  EXPECT_TRUE(db.ok()) << db.error().to_string();
  if (!db.ok()) return o;
  o.db = *db;
  auto jobs = JobStore::open(o.db);
  EXPECT_TRUE(jobs.ok());
  if (jobs.ok()) o.jobs = std::move(*jobs);
  return o;
}

std::vector<std::int64_t> seqs(const std::vector<StoredEvent>& events) {
  std::vector<std::int64_t> out;
  for (const auto& e : events)
    out.push_back(e.seq);
  return out;
}

TEST(JobStore, PutReplacesGetReadsAndBothSurviveReopen) {
  TempDir dir;
  {
    auto s = open(dir.path());
    ASSERT_TRUE(s.jobs);
    ASSERT_TRUE(s.jobs->put_job("j-1", {{"state", "queued"}}, true).ok());
    ASSERT_TRUE(s.jobs->put_job("j-1", {{"state", "running"}}, false).ok());
    auto missing = s.jobs->get_job("j-2");
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(missing->has_value());
  }
  auto s = open(dir.path());
  ASSERT_TRUE(s.jobs);
  auto got = s.jobs->get_job("j-1");
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, json({{"state", "running"}}));
}

TEST(JobStore, ScanReturnsEveryJobInIdOrder) {
  TempDir dir;
  auto s = open(dir.path());
  ASSERT_TRUE(s.jobs);
  for (const char* id : {"j-3", "j-1", "j-2"})
    ASSERT_TRUE(s.jobs->put_job(id, {{"id", id}}, false).ok());
  ASSERT_TRUE(s.jobs->put_job("j-2", {{"id", "j-2"}}, false, "key").ok());  // index rows too
  auto scan = s.jobs->scan_jobs();
  ASSERT_TRUE(scan.ok());
  ASSERT_EQ(scan->jobs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(scan->jobs[i].first, "j-" + std::to_string(i + 1));
    EXPECT_EQ(scan->jobs[i].second["id"], scan->jobs[i].first);
  }
  EXPECT_TRUE(scan->dropped.empty());
}

TEST(JobStore, IdempotencyKeyNamesOneJob) {
  TempDir dir;
  {
    auto s = open(dir.path());
    ASSERT_TRUE(s.jobs);
    ASSERT_TRUE(s.jobs->put_job("j-1", json::object(), true, "client:abc").ok());
    ASSERT_TRUE(s.jobs->put_job("j-1", {{"x", 1}}, true, "client:abc").ok());  // same job: fine
    auto other = s.jobs->put_job("j-2", json::object(), true, "client:abc");
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.error().code, ErrorCode::invalid_argument);
    auto none = s.jobs->find_idempotent("client:xyz");
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
  }
  auto s = open(dir.path());
  ASSERT_TRUE(s.jobs);
  auto found = s.jobs->find_idempotent("client:abc");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, std::optional<std::string>("j-1"));
  auto j2 = s.jobs->get_job("j-2");
  ASSERT_TRUE(j2.ok());
  EXPECT_FALSE(j2->has_value());  // the refused put wrote nothing
}

TEST(JobStore, EventsAreNumberedPerJobAndPaged) {
  TempDir dir;
  auto s = open(dir.path());
  ASSERT_TRUE(s.jobs);
  // "j-1" is a prefix of "j-10": their logs must not mix.
  for (int i = 1; i <= 5; ++i) {
    auto seq = s.jobs->append_event("j-1", {{"n", i}}, i == 5);
    ASSERT_TRUE(seq.ok());
    EXPECT_EQ(*seq, i);
  }
  for (int i = 1; i <= 2; ++i)
    EXPECT_EQ(*s.jobs->append_event("j-10", {{"n", 10 + i}}, false), i);
  auto page = s.jobs->events_after("j-1", 0, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(seqs(*page), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ((*page)[1].data, json({{"n", 2}}));
  page = s.jobs->events_after("j-1", 2, 100);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(seqs(*page), (std::vector<std::int64_t>{3, 4, 5}));
  EXPECT_TRUE(s.jobs->events_after("j-1", 5, 100)->empty());
  EXPECT_TRUE(s.jobs->events_after("j-1", 0, 0)->empty());
  EXPECT_TRUE(s.jobs->events_after("j-2", 0, 10)->empty());
  page = s.jobs->events_after("j-10", -7, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(seqs(*page), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ((*page)[0].data, json({{"n", 11}}));
}

TEST(JobStore, EventNumbersContinueAfterReopen) {
  TempDir dir;
  {
    auto s = open(dir.path());
    ASSERT_TRUE(s.jobs);
    for (int i = 0; i < 300; ++i)  // past one byte of the sequence number
      ASSERT_TRUE(s.jobs->append_event("j-1", {{"i", i}}, false).ok());
    ASSERT_TRUE(s.jobs->append_event("j-0", json::object(), false).ok());
    ASSERT_TRUE(s.jobs->append_event("j-2", json::object(), false).ok());
  }
  auto s = open(dir.path());
  ASSERT_TRUE(s.jobs);
  EXPECT_EQ(*s.jobs->append_event("j-1", json::object(), true), 301);
  EXPECT_EQ(*s.jobs->append_event("j-3", json::object(), true), 1);
  auto page = s.jobs->events_after("j-1", 255, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(seqs(*page), (std::vector<std::int64_t>{256, 257}));
  EXPECT_EQ((*page)[0].data, json({{"i", 255}}));
}

TEST(JobStore, ConcurrentAppendsToOneJobGetDistinctNumbers) {
  TempDir dir;
  auto s = open(dir.path());
  ASSERT_TRUE(s.jobs);
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::int64_t> seen;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto seq = s.jobs->append_event("j-1", {{"i", i}}, false);
        ASSERT_TRUE(seq.ok());
        std::lock_guard lock(mu);
        seen.insert(*seq);
      }
    });
  }
  for (auto& t : threads)
    t.join();
  ASSERT_EQ(seen.size(), 100u);
  EXPECT_EQ(*seen.begin(), 1);
  EXPECT_EQ(*seen.rbegin(), 100);
  EXPECT_EQ(s.jobs->events_after("j-1", 0, 1000)->size(), 100u);
}

TEST(JobStore, CheckpointsReplaceAndListInKeyOrder) {
  TempDir dir;
  auto s = open(dir.path());
  ASSERT_TRUE(s.jobs);
  ASSERT_TRUE(s.jobs->put_checkpoint("j-1", "step:b", {{"v", 1}}, true).ok());
  ASSERT_TRUE(s.jobs->put_checkpoint("j-1", "step:a/3", {{"v", 1}}, true).ok());
  ASSERT_TRUE(s.jobs->put_checkpoint("j-1", "step:a/3", {{"v", 2}}, true).ok());
  ASSERT_TRUE(s.jobs->put_checkpoint("j-10", "step:a/3", {{"v", 9}}, true).ok());
  std::vector<DroppedRecord> dropped;
  auto got = s.jobs->checkpoints("j-1", &dropped);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].first, "step:a/3");
  EXPECT_EQ((*got)[0].second, json({{"v", 2}}));
  EXPECT_EQ((*got)[1].first, "step:b");
  EXPECT_TRUE(dropped.empty());
  EXPECT_TRUE(s.jobs->checkpoints("j-2")->empty());
}

TEST(JobStore, EraseRemovesEverythingOfTheJobOnly) {
  TempDir dir;
  auto s = open(dir.path());
  ASSERT_TRUE(s.jobs);
  for (const char* id : {"j-1", "j-10"}) {
    ASSERT_TRUE(s.jobs->put_job(id, {{"id", id}}, true, std::string("key-") + id).ok());
    ASSERT_TRUE(s.jobs->append_event(id, json::object(), false).ok());
    ASSERT_TRUE(s.jobs->append_event(id, json::object(), false).ok());
    ASSERT_TRUE(s.jobs->put_checkpoint(id, "step:a", json::object(), false).ok());
  }
  ASSERT_TRUE(s.jobs->erase_job("j-1").ok());
  EXPECT_FALSE(s.jobs->get_job("j-1")->has_value());
  EXPECT_FALSE(s.jobs->find_idempotent("key-j-1")->has_value());
  EXPECT_TRUE(s.jobs->events_after("j-1", 0, 10)->empty());
  EXPECT_TRUE(s.jobs->checkpoints("j-1")->empty());
  EXPECT_EQ(*s.jobs->append_event("j-1", json::object(), false), 1);  // a new log
  EXPECT_TRUE(s.jobs->get_job("j-10")->has_value());
  EXPECT_EQ(*s.jobs->find_idempotent("key-j-10"), std::optional<std::string>("j-10"));
  EXPECT_EQ(s.jobs->events_after("j-10", 0, 10)->size(), 2u);
  EXPECT_EQ(s.jobs->checkpoints("j-10")->size(), 1u);
  auto scan = s.jobs->scan_jobs();
  ASSERT_TRUE(scan.ok());
  ASSERT_EQ(scan->jobs.size(), 1u);
  EXPECT_EQ(scan->jobs[0].first, "j-10");
}

TEST(JobStore, RefusesIdsThatCannotBeKeys) {
  TempDir dir;
  auto s = open(dir.path());
  ASSERT_TRUE(s.jobs);
  for (const std::string& id : {std::string(), std::string("a\0b", 3), std::string(300, 'x')}) {
    auto put = s.jobs->put_job(id, json::object(), false);
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(put.error().code, ErrorCode::invalid_argument);
    EXPECT_FALSE(s.jobs->append_event(id, json::object(), false).ok());
    EXPECT_FALSE(s.jobs->erase_job(id).ok());
  }
  EXPECT_FALSE(JobStore::open(nullptr).ok());
}

TEST(JobStore, InvalidUtf8IsReplacedNotThrown) {
  TempDir dir;
  auto s = open(dir.path());
  ASSERT_TRUE(s.jobs);
  ASSERT_TRUE(s.jobs->put_job("j-1", {{"s", "ok \xff\xfe"}}, false).ok());
  auto got = s.jobs->get_job("j-1");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((**got)["s"].get<std::string>().substr(0, 3), "ok ");
}

}  // namespace
}  // namespace agentrt::storage
