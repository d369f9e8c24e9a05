// Db: the five column families across reopen, and damaged stores (a missing CURRENT, a
// damaged MANIFEST, a lost or damaged table file, a damaged WAL) repaired on open, saying
// what was lost while everything else stays readable.
#include "storage/db.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <fstream>

#include "storage/kv_store_testing.h"

namespace agentrt::storage {
namespace {

using testing::flip;
using testing::largest_table;
using testing::table_files;
using testing::TempDir;

constexpr Cf kAll[] = {Cf::kv_blocks, Cf::kv_meta, Cf::jobs, Cf::events, Cf::checkpoints};

std::string key(int i) {
  return "k" + std::to_string(1000 + i);
}

std::string value(int i) {
  return std::string(100, static_cast<char>('a' + i % 26)) + std::to_string(i);
}

// Writes `n` records into `cf`; with `flush`, into a table file.
void fill(Db& db, Cf cf, int n, bool flush) {
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(db.raw()->Put({}, db.cf(cf), key(i), value(i)).ok());
  if (flush) {
    ASSERT_TRUE(db.raw()->Flush({}, db.cf(cf)).ok());
  }
}

// The records of `fill` still readable in `cf`.
int readable(Db& db, Cf cf, int n) {
  int found = 0;
  for (int i = 0; i < n; ++i) {
    std::string v;
    if (db.raw()->Get({}, db.cf(cf), key(i), &v).ok() && v == value(i)) ++found;
  }
  return found;
}

std::vector<std::filesystem::path> files_named(const std::filesystem::path& dir,
                                               const std::string& part) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().find(part) != std::string::npos) out.push_back(e.path());
  }
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines)
    out += l + "\n";
  return out;
}

TEST(Db, OpensEveryColumnFamilyAndKeepsRecordsAcrossReopen) {
  TempDir dir;
  {
    auto db = Db::open(dir.path());
    ASSERT_TRUE(db.ok()) << db.error().to_string();
    for (Cf cf : kAll) {
      ASSERT_NE((*db)->cf(cf), nullptr) << cf_name(cf);
      fill(**db, cf, 3, cf == Cf::jobs);
    }
    EXPECT_TRUE((*db)->recovered_problems().empty());
    EXPECT_TRUE((*db)->flush().ok());
  }
  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  for (Cf cf : kAll)
    EXPECT_EQ(readable(**db, cf, 3), 3) << cf_name(cf);
  EXPECT_TRUE((*db)->recovered_problems().empty()) << joined((*db)->recovered_problems());
  EXPECT_STREQ(cf_name(Cf::checkpoints), "checkpoints");
}

TEST(Db, OpensAStoreWithAColumnFamilyItDoesNotKnow) {
  TempDir dir;
  {
    auto db = Db::open(dir.path());
    ASSERT_TRUE(db.ok());
    rocksdb::ColumnFamilyHandle* h = nullptr;
    ASSERT_TRUE((*db)->raw()->CreateColumnFamily({}, "from_a_later_version", &h).ok());
    ASSERT_TRUE((*db)->raw()->DestroyColumnFamilyHandle(h).ok());
  }
  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  EXPECT_TRUE((*db)->recovered_problems().empty());
}

TEST(Db, FailsCleanlyWhereNoDatabaseCanBe) {
  TempDir dir;
  const auto file = dir.path() / "not-a-dir";
  std::ofstream(file) << "x";
  auto db = Db::open(file);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, ErrorCode::io);
  EXPECT_NE(db.error().message.find(file.string()), std::string::npos) << db.error().message;
}

// A store with flushed records in every column family and unflushed ones (WAL only) in jobs
// and events.
void fill_store(const std::filesystem::path& dir) {
  auto db = Db::open(dir);
  ASSERT_TRUE(db.ok());
  for (Cf cf : kAll)
    fill(**db, cf, 20, true);
  ASSERT_TRUE((*db)->raw()->Put({}, (*db)->cf(Cf::jobs), "wal-only", "j").ok());
  ASSERT_TRUE((*db)->raw()->Put({}, (*db)->cf(Cf::events), "wal-only", "e").ok());
}

void expect_everything_readable(Db& db) {
  for (Cf cf : kAll)
    EXPECT_EQ(readable(db, cf, 20), 20) << cf_name(cf);
  std::string v;
  EXPECT_TRUE(db.raw()->Get({}, db.cf(Cf::jobs), "wal-only", &v).ok());
  EXPECT_TRUE(db.raw()->Get({}, db.cf(Cf::events), "wal-only", &v).ok());
}

TEST(DbRepair, MissingCurrentIsRepairedWithoutLosingRecords) {
  TempDir dir;
  fill_store(dir.path());
  ASSERT_TRUE(std::filesystem::remove(dir.path() / "CURRENT"));
  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  const auto problems = joined((*db)->recovered_problems());
  EXPECT_NE(problems.find("CURRENT is missing"), std::string::npos) << problems;
  expect_everything_readable(**db);
}

TEST(DbRepair, DamagedManifestIsRepairedWithoutLosingRecords) {
  TempDir dir;
  fill_store(dir.path());
  const auto manifests = files_named(dir.path(), "MANIFEST-");
  ASSERT_EQ(manifests.size(), 1u);
  std::filesystem::resize_file(manifests[0], std::filesystem::file_size(manifests[0]) / 2);
  flip(manifests[0], 20);
  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  EXPECT_FALSE((*db)->recovered_problems().empty());
  expect_everything_readable(**db);
}

TEST(DbRepair, LostTableFileIsNamedAndTheRestKept) {
  TempDir dir;
  fill_store(dir.path());
  const auto table = largest_table(dir.path(), Cf::jobs);
  ASSERT_FALSE(table.empty());
  ASSERT_TRUE(std::filesystem::remove(table));
  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  const auto problems = joined((*db)->recovered_problems());
  // RocksDB names the table by number (it looks for 000029.ldb after 000029.sst).
  EXPECT_NE(problems.find(table.stem().string()), std::string::npos) << problems;
  EXPECT_EQ(readable(**db, Cf::jobs, 20), 0);
  for (Cf cf : {Cf::kv_blocks, Cf::kv_meta, Cf::events, Cf::checkpoints})
    EXPECT_EQ(readable(**db, cf, 20), 20) << cf_name(cf);
}

TEST(DbRepair, DamagedTableFileIsMovedAsideAndNamed) {
  TempDir dir;
  fill_store(dir.path());
  const auto table = largest_table(dir.path(), Cf::jobs);
  ASSERT_FALSE(table.empty());
  flip(table, testing::read_file(table).find(value(3)) + 10);  // inside a value
  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  const auto problems = joined((*db)->recovered_problems());
  EXPECT_NE(problems.find(table.filename().string() + " (column family jobs"), std::string::npos)
      << problems;
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "lost" / table.filename()));
  // Its records are named (the flipped byte sits in a value, so every key still reads).
  int lost_jobs = 0;
  for (const auto& lost : (*db)->lost_keys())
    lost_jobs += lost.cf == Cf::jobs && lost.key.starts_with("k1");
  EXPECT_EQ(lost_jobs, 20);
  for (Cf cf : {Cf::kv_blocks, Cf::kv_meta, Cf::events, Cf::checkpoints})
    EXPECT_EQ(readable(**db, cf, 20), 20) << cf_name(cf);
  // The store is sound again: a second open repairs nothing.
  db = Result<std::shared_ptr<Db>>(make_error(ErrorCode::internal, "closed"));
  auto again = Db::open(dir.path());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->recovered_problems().empty()) << joined((*again)->recovered_problems());
}

// The WAL is read in 32 KiB blocks and a record failing its checksum costs the rest of its
// block (its length may be the damaged part); records before it and in later blocks stay.
TEST(DbRepair, DamagedWalRecordCostsItsBlockAndTheRestIsKept) {
  TempDir dir;
  constexpr int kRecords = 400;  // about 48 KiB: two WAL blocks
  {
    auto db = Db::open(dir.path());
    ASSERT_TRUE(db.ok());
    fill(**db, Cf::jobs, kRecords, false);  // WAL only
  }
  const auto logs = files_named(dir.path(), ".log");
  ASSERT_EQ(logs.size(), 1u);
  const std::string wal = testing::read_file(logs[0]);
  const auto at = wal.find(value(20));  // inside record 20's value, not a record header
  ASSERT_NE(at, std::string::npos);
  flip(logs[0], at + 50);
  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  const auto problems = joined((*db)->recovered_problems());
  EXPECT_NE(problems.find("checksum mismatch"), std::string::npos) << problems;
  EXPECT_NE(problems.find("dropping"), std::string::npos) << problems;
  EXPECT_EQ(readable(**db, Cf::jobs, 20), 20) << problems;
  const int kept = readable(**db, Cf::jobs, kRecords);
  EXPECT_LT(kept, kRecords);
  std::string v;
  EXPECT_TRUE((*db)->raw()->Get({}, (*db)->cf(Cf::jobs), key(kRecords - 1), &v).ok()) << problems;
}

// A kill -9 in the middle of a WAL write leaves a torn last record: that write was never
// acknowledged, so the store opens without a repair and keeps every record before it.
TEST(DbRepair, TornLastWalRecordIsNotARepair) {
  TempDir dir;
  constexpr int kRecords = 50;
  {
    auto db = Db::open(dir.path());
    ASSERT_TRUE(db.ok());
    fill(**db, Cf::jobs, kRecords, false);  // WAL only
  }
  const auto logs = files_named(dir.path(), ".log");
  ASSERT_EQ(logs.size(), 1u);
  const auto size = std::filesystem::file_size(logs[0]);
  std::filesystem::resize_file(logs[0], size - 7);  // inside the last record
  auto db = Db::open(dir.path());
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  EXPECT_TRUE((*db)->recovered_problems().empty()) << joined((*db)->recovered_problems());
  EXPECT_EQ(readable(**db, Cf::jobs, kRecords - 1), kRecords - 1);
}

}  // namespace
}  // namespace agentrt::storage
