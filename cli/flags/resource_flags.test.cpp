#include "cli/flags/resource_flags.h"

#include <gtest/gtest.h>

#include "cli/flags/flag_limits.h"
#include "engine/cpu/cpu_backend.h"

namespace agentrt::cli::flags {
namespace {

namespace cpu = agentrt::cpu;

// Every --threads value the flag takes, the CPU backend takes too.
static_assert(kMaxThreadsFlag <= cpu::kMaxCpuThreads);

TEST(MaxThreads, FourPerHardwareThreadUpTo256) {
  EXPECT_EQ(max_threads(1), 4);
  EXPECT_EQ(max_threads(2), 8);
  EXPECT_EQ(max_threads(64), 256);
  EXPECT_EQ(max_threads(1000), 256);
  EXPECT_EQ(max_threads(0), 256);  // unknown hardware
  EXPECT_EQ(max_threads(4000000000u), 256);
}

TEST(ResourceFlags, ThreadsAreCappedByTheHardware) {
  EXPECT_EQ(*parse_threads_flag("0", 2), 0);
  EXPECT_EQ(*parse_threads_flag("8", 2), 8);
  auto many = parse_threads_flag("9", 2);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().message, "--threads: must be an integer in [0, 8], got '9'");
  EXPECT_FALSE(parse_threads_flag("5000", 0).ok());
  EXPECT_FALSE(parse_threads_flag("-1", 2).ok());
}

TEST(ResourceFlags, KvBlocksAreCapped) {
  EXPECT_EQ(*parse_kv_blocks_flag("0"), 0);
  EXPECT_EQ(*parse_kv_blocks_flag(std::to_string(kMaxKvBlocksFlag)), kMaxKvBlocksFlag);
  auto huge = parse_kv_blocks_flag("300000000");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().message,
            "--kv-blocks: must be an integer in [0, 4194304], got '300000000'");
  EXPECT_FALSE(parse_kv_blocks_flag("-5").ok());
}

TEST(ResourceFlags, AbsentFlagsStayZero) {
  auto r = parse_resource_flags({}, 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->threads, 0);
  EXPECT_EQ(r->kv_blocks, 0);
  auto given = parse_resource_flags({"3", "100"}, 2);
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->threads, 3);
  EXPECT_EQ(given->kv_blocks, 100);
  auto bad = parse_resource_flags({std::nullopt, "x"}, 2);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("--kv-blocks"), std::string::npos);
}

}  // namespace
}  // namespace agentrt::cli::flags
