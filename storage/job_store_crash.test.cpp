// JobStore across SIGKILL: a child process (this test binary, re-run with
// AGENTRT_CRASH_CHILD_DIR set) appends synced events until it is killed at a random moment;
// each restart finds events 1..n with no hole, nothing to repair, and numbering goes on.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "storage/job_store.h"
#include "storage/kv_store_testing.h"

extern char** environ;

namespace agentrt::storage {
namespace {

constexpr const char* kChildEnv = "AGENTRT_CRASH_CHILD_DIR";

// The child: appends until killed.
TEST(JobStoreCrashChild, AppendsUntilKilled) {
  const char* dir = std::getenv(kChildEnv);
  if (dir == nullptr) GTEST_SKIP() << "run by JobStoreCrash only";
  auto db = Db::open(dir);
  ASSERT_TRUE(db.ok()) << db.error().to_string();
  auto jobs = JobStore::open(*db);
  ASSERT_TRUE(jobs.ok());
  for (std::int64_t i = 0;; ++i) {
    auto seq = (*jobs)->append_event("j-1", {{"pad", std::string(200 + i % 3000, 'x')}}, true);
    ASSERT_TRUE(seq.ok()) << seq.error().to_string();
    if (i % 16 == 0) {
      ASSERT_TRUE((*jobs)->put_job("j-1", {{"last", *seq}}, true).ok());
    }
  }
}

pid_t spawn_child(const std::filesystem::path& dir) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e)
    env_strings.emplace_back(*e);
  env_strings.push_back(std::string(kChildEnv) + "=" + dir.string());
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=JobStoreCrashChild.*";
  char* argv[] = {exe.data(), filter.data(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, envp.data()) != 0) return -1;
  return pid;
}

TEST(JobStoreCrash, KilledWritersLeaveNoHoleAndNothingToRepair) {
  testing::TempDir dir;
  std::mt19937 rng(1234);
  std::int64_t before = 0;
  for (int cycle = 0; cycle < 6; ++cycle) {
    const pid_t pid = spawn_child(dir.path());
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 700));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped by itself: " << status;

    auto db = Db::open(dir.path());
    ASSERT_TRUE(db.ok()) << db.error().to_string();
    std::string problems;
    for (const auto& p : (*db)->recovered_problems())
      problems += p + "\n";
    EXPECT_TRUE(problems.empty()) << "cycle " << cycle << ":\n" << problems;
    auto jobs = JobStore::open(*db);
    ASSERT_TRUE(jobs.ok());
    std::vector<DroppedRecord> dropped;
    auto events = (*jobs)->events_after("j-1", 0, 1 << 30, &dropped);
    ASSERT_TRUE(events.ok());
    EXPECT_TRUE(dropped.empty());
    for (std::size_t i = 0; i < events->size(); ++i)
      ASSERT_EQ((*events)[i].seq, static_cast<std::int64_t>(i + 1)) << "a hole, cycle " << cycle;
    const auto n = static_cast<std::int64_t>(events->size());
    EXPECT_GE(n, before) << "synced events were lost";
    auto doc = (*jobs)->get_job("j-1");
    ASSERT_TRUE(doc.ok()) << doc.error().to_string();
    if (doc->has_value()) {
      EXPECT_LE((**doc)["last"].get<std::int64_t>(), n);
    }
    before = n;
  }
  EXPECT_GT(before, 0) << "the children never wrote";
}

}  // namespace
}  // namespace agentrt::storage
