#include "storage/db_repair.h"

#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/table_properties.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

namespace agentrt::storage::detail {

namespace {

constexpr std::size_t kMaxReportedLines = 64;
constexpr std::size_t kMaxLostKeys = 100000;

// Keeps what RepairDB logs at WARN and above: the records and tables it dropped.
class ProblemLogger final : public rocksdb::Logger {
 public:
  ProblemLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < rocksdb::InfoLogLevel::WARN_LEVEL) return;
    char line[512];
    std::vsnprintf(line, sizeof line, format, ap);
    if (std::strstr(line, "without unique ID") != nullptr) return;  // tables of older RocksDB
    std::lock_guard lock(mu_);
    if (lines_.size() < kMaxReportedLines) lines_.emplace_back(line);
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

std::set<std::string> files_in(const std::filesystem::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    out.insert(it->path().filename().string());
  return out;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// "table file 000012.sst (column family jobs, 40 records readable) was unreadable and moved
// to lost/"; the readable keys go to `lost` unless the family is `skip_cf`.
std::string describe_lost_table(const std::filesystem::path& file, const std::string& skip_cf,
                                std::vector<LostKey>& lost) {
  std::string cf = "unknown";
  long readable = 0;
  rocksdb::SstFileReader reader({});
  if (reader.Open(file.string()).ok()) {
    if (auto props = reader.GetTableProperties()) cf = props->column_family_name;
    rocksdb::ReadOptions ro;
    ro.verify_checksums = false;
    std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(ro));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++readable;
      if (cf != skip_cf && lost.size() < kMaxLostKeys) lost.push_back({cf, it->key().ToString()});
    }
  }
  return "table file " + file.filename().string() + " (column family " + cf + ", " +
         std::to_string(readable) + " records readable) was unreadable and moved to lost/";
}

}  // namespace

bool lost_current(const std::filesystem::path& dir) {
  const auto files = files_in(dir);
  if (files.empty() || files.count("CURRENT") != 0) return false;
  for (const auto& f : files) {
    if (f.rfind("MANIFEST-", 0) == 0 || ends_with(f, ".sst") || ends_with(f, ".log")) return true;
  }
  return false;
}

rocksdb::Status repair(const std::filesystem::path& dir, rocksdb::DBOptions options,
                       const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs,
                       const std::string& skip_cf, std::vector<std::string>& problems,
                       std::vector<LostKey>& lost) {
  const auto lost_dir = dir / "lost";
  const auto lost_before = files_in(lost_dir);
  auto logger = std::make_shared<ProblemLogger>();
  options.info_log = logger;
  rocksdb::ColumnFamilyOptions unknown;
  auto s = rocksdb::RepairDB(dir.string(), options, cfs, unknown);
  for (auto& line : logger->lines())
    problems.push_back("repair: " + std::move(line));
  for (const auto& f : files_in(lost_dir)) {
    if (lost_before.count(f) == 0 && ends_with(f, ".sst")) {
      problems.push_back(describe_lost_table(lost_dir / f, skip_cf, lost));
    }
  }
  return s;
}

}  // namespace agentrt::storage::detail
