// Test support for storage/: temporary directories, raw access to the RocksDB rows behind a
// store and to its table files (to damage them the way a disk or another version would), the
// KV value layout, and a RocksDB FileSystem that fails reads or writes on demand.
// Header-only; *.test.cpp only.
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <unistd.h>
#include <xxhash.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/kv/fake_block_memory.h"
#include "engine/kv/host_tier.h"
#include "engine/kv/kv_manager.h"
#include "storage/db.h"
#include "storage/kv_store.h"

namespace agentrt::storage::testing {

// Value layout (kv_block_value.cpp): magic u32, version u16, reserved u16, model key (16), block
// key (16), payload size u64, XXH3-64 of everything else u64, payload.
inline constexpr std::size_t kVersionAt = 4, kModelKeyAt = 8, kBlockKeyAt = 24, kSizeAt = 40,
                             kChecksumAt = 48, kHeaderBytes = 56;

class TempDir {
 public:
  TempDir() {
    std::string p = (std::filesystem::temp_directory_path() / "agentrt-kvs-XXXXXX").string();
    if (::mkdtemp(p.data()) == nullptr) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The store's database opened directly (the store itself must be closed). cf 1 is kv_blocks,
// 2 kv_meta.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& dir) {
    auto db = Db::open(dir);
    if (db.ok()) db_ = std::move(*db);
  }
  bool ok() const { return db_ != nullptr; }
  std::optional<std::string> get(const std::string& row, int cf = 1) {
    std::string v;
    if (!db_->raw()->Get({}, handle(cf), row, &v).ok()) return std::nullopt;
    return v;
  }
  bool put(const std::string& row, const std::string& v, int cf = 1) {
    return db_->raw()->Put({}, handle(cf), row, v).ok();
  }

 private:
  rocksdb::ColumnFamilyHandle* handle(int cf) const {
    return db_->cf(cf == 1 ? Cf::kv_blocks : Cf::kv_meta);
  }
  std::shared_ptr<Db> db_;
};

// The table files of `cf`.
inline std::vector<std::filesystem::path> table_files(Db& db, Cf cf) {
  rocksdb::ColumnFamilyMetaData meta;
  db.raw()->GetColumnFamilyMetaData(db.cf(cf), &meta);
  std::vector<std::filesystem::path> out;
  for (const auto& level : meta.levels) {
    for (const auto& f : level.files)
      out.push_back(std::filesystem::path(f.db_path) / f.name.substr(1));
  }
  return out;
}

// The largest table file of `cf` in the store at `dir` (opened for the purpose).
inline std::filesystem::path largest_table(const std::filesystem::path& dir, Cf cf) {
  auto db = Db::open(dir);
  EXPECT_TRUE(db.ok());
  if (!db.ok()) return {};
  std::filesystem::path biggest;
  for (const auto& f : table_files(**db, cf)) {
    if (biggest.empty() || std::filesystem::file_size(f) > std::filesystem::file_size(biggest))
      biggest = f;
  }
  return biggest;
}

inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Flips one byte of a file in place.
inline void flip(const std::filesystem::path& file, std::size_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << file;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  ASSERT_TRUE(f.good()) << file << " has no byte " << offset;
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

// Recomputes a value's checksum, so that only the other checks can catch what was changed.
inline void reseal(std::string& v) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, v.data(), kChecksumAt);
  XXH3_64bits_update(st, v.data() + kHeaderBytes, v.size() - kHeaderBytes);
  std::uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  for (std::size_t i = 0; i < 8; ++i, h >>= 8)
    v[kChecksumAt + i] = static_cast<char>(h & 0xff);
}

inline void put_u64(std::string& v, std::size_t at, std::uint64_t x) {
  for (std::size_t i = 0; i < 8; ++i, x >>= 8)
    v[at + i] = static_cast<char>(x & 0xff);
}

// A FileSystem over the default one whose file reads and writes fail with IOError while
// the matching flag is set.
class FaultyFs final : public rocksdb::FileSystemWrapper {
 public:
  FaultyFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FaultyFs"; }

  std::atomic<bool> fail_reads{false};
  std::atomic<bool> fail_writes{false};
  std::atomic<int> failed{0};  // operations failed so far

  rocksdb::IOStatus NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions& o,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                        rocksdb::IODebugContext* dbg) override {
    auto s = target()->NewRandomAccessFile(f, o, r, dbg);
    if (s.ok()) *r = std::make_unique<Reader>(std::move(*r), *this);
    return s;
  }
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    auto s = target()->NewWritableFile(f, o, r, dbg);
    if (s.ok()) *r = std::make_unique<Writer>(std::move(*r), *this);
    return s;
  }

 private:
  rocksdb::IOStatus injected() {
    ++failed;
    return rocksdb::IOStatus::IOError("injected fault");
  }

  class Reader final : public rocksdb::FSRandomAccessFileOwnerWrapper {
   public:
    Reader(std::unique_ptr<rocksdb::FSRandomAccessFile> t, FaultyFs& fs)
        : FSRandomAccessFileOwnerWrapper(std::move(t)), fs_(fs) {}
    rocksdb::IOStatus Read(std::uint64_t offset, std::size_t n, const rocksdb::IOOptions& o,
                           rocksdb::Slice* result, char* scratch,
                           rocksdb::IODebugContext* dbg) const override {
      if (fs_.fail_reads) return fs_.injected();
      return target()->Read(offset, n, o, result, scratch, dbg);
    }
    rocksdb::IOStatus MultiRead(rocksdb::FSReadRequest* reqs, std::size_t num,
                                const rocksdb::IOOptions& o,
                                rocksdb::IODebugContext* dbg) override {
      if (fs_.fail_reads) return fs_.injected();
      return target()->MultiRead(reqs, num, o, dbg);
    }

   private:
    FaultyFs& fs_;
  };

  class Writer final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    Writer(std::unique_ptr<rocksdb::FSWritableFile> t, FaultyFs& fs)
        : FSWritableFileOwnerWrapper(std::move(t)), fs_(fs) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (fs_.fail_writes) return fs_.injected();
      return target()->Append(data, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (fs_.fail_writes) return fs_.injected();
      return target()->Append(data, o, info, dbg);
    }

   private:
    FaultyFs& fs_;
  };
};

// One "process" using the store as the KV manager's persistent tier: a manager over a fresh
// pool of 4 blocks of 4 tokens, a host tier of 0 bytes (evictions go straight to the store)
// and the store, for model "model".
struct Process {
  static constexpr int kBs = 4;
  explicit Process(const std::filesystem::path& dir, const KvStoreOptions& options = {})
      : mem(4, kBs), host(0) {
    auto s = KvStore::open(dir, "model", options);
    EXPECT_TRUE(s.ok()) << s.error().to_string();
    if (!s.ok()) return;
    store = std::move(*s);
    host = kv::HostTier(0, store.get());
    auto m = kv::KvManager::create({4, kBs, "model", true, 0},
                                   {&mem, &clock, {&host, store.get()}, nullptr});
    EXPECT_TRUE(m.ok());
    kv = std::move(*m);
  }
  // Runs `t` as one sequence (cached prefix, then the rest computed), checks that the table
  // holds exactly `t`, releases it and returns the number of cached tokens used.
  std::int64_t run(kv::SeqId seq, const std::vector<std::int32_t>& t) {
    EXPECT_TRUE(kv) << "no KV manager: the store did not open";
    if (!kv) return -1;
    auto hit = kv->open(seq, t);
    EXPECT_TRUE(hit.ok());
    if (!hit.ok()) return -1;
    EXPECT_TRUE(kv->reserve(seq, std::ssize(t)).ok());
    auto rest = std::span(t).subspan(static_cast<std::size_t>(*hit));
    mem.write_tokens(kv->block_table(seq), static_cast<std::size_t>(*hit), rest);
    EXPECT_TRUE(kv->commit(seq, rest).ok());
    EXPECT_TRUE(mem.holds(kv->block_table(seq), t));
    kv->release(seq);
    return *hit;
  }
  kv::testing::FakeBlockMemory mem;
  kv::FakeClock clock;
  std::unique_ptr<KvStore> store;
  kv::HostTier host;
  std::unique_ptr<kv::KvManager> kv;
};

inline const std::vector<std::int32_t> kPrompt{1, 2, 3, 4, 5, 6, 7, 8, 9};
inline const std::vector<std::int32_t> kOther{20, 21, 22, 23, 24, 25, 26, 27,
                                              28, 29, 30, 31, 32, 33, 34, 35};

// Key of kPrompt's first block for model "model".
inline kv::BlockKey first_block_key() {
  return kv::chain_key(kv::root_key("model"), std::span(kPrompt).first(4), "model");
}

}  // namespace agentrt::storage::testing
