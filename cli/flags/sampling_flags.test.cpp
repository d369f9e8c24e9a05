#include "cli/flags/sampling_flags.h"

#include <gtest/gtest.h>

#include <string>

#include "cli/flags/flag_limits.h"

namespace agentrt::cli::flags {
namespace {

Status apply(SamplingFlags f, sampling::SamplingParams& p) {
  return apply_sampling_flags(f, p);
}

TEST(SamplingFlags, FlagsNotGivenKeepTheDefaults) {
  sampling::SamplingParams p;
  p.max_tokens = 7;
  ASSERT_TRUE(apply({}, p).ok());
  EXPECT_EQ(p.max_tokens, 7);
  EXPECT_FALSE(p.seed.has_value());
  EXPECT_EQ(p.logprobs, -1);
}

TEST(SamplingFlags, SetsEveryGivenFlag) {
  SamplingFlags f;
  f.max_tokens = "32";
  f.temperature = "0.7";
  f.top_k = "40";
  f.top_p = "0.9";
  f.min_p = "0.05";
  f.repetition_penalty = "1.1";
  f.presence_penalty = "-0.5";
  f.frequency_penalty = "0.5";
  f.seed = "18446744073709551615";
  f.logprobs = "3";
  f.stop_token_ids = {"5", "2147483647"};
  sampling::SamplingParams p;
  ASSERT_TRUE(apply(f, p).ok());
  EXPECT_EQ(p.max_tokens, 32);
  EXPECT_FLOAT_EQ(p.temperature, 0.7f);
  EXPECT_EQ(p.top_k, 40);
  EXPECT_FLOAT_EQ(p.top_p, 0.9f);
  EXPECT_FLOAT_EQ(p.min_p, 0.05f);
  EXPECT_FLOAT_EQ(p.repetition_penalty, 1.1f);
  EXPECT_FLOAT_EQ(p.presence_penalty, -0.5f);
  EXPECT_FLOAT_EQ(p.frequency_penalty, 0.5f);
  EXPECT_EQ(p.seed, 18446744073709551615ull);
  EXPECT_EQ(p.logprobs, 3);
  EXPECT_EQ(p.stop_token_ids, (std::vector<std::int32_t>{5, 2147483647}));
  EXPECT_TRUE(p.validate().ok());
}

// The flag name and its limit in the message, for each flag's bad value.
TEST(SamplingFlags, EachBadValueNamesItsFlag) {
  struct Case {
    std::optional<std::string> SamplingFlags::*field;
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {&SamplingFlags::max_tokens, "2147483647",
       "--max-tokens: must be an integer in [1, 1048576]"},
      {&SamplingFlags::max_tokens, "0", "--max-tokens: must be an integer in [1, 1048576]"},
      {&SamplingFlags::temperature, "nan", "--temperature: must be a finite number in [0, 100]"},
      {&SamplingFlags::temperature, "-0.1", "--temperature: must be a finite number in [0, 100]"},
      {&SamplingFlags::top_k, "-1", "--top-k: must be an integer in [0, 1048576]"},
      {&SamplingFlags::top_p, "inf", "--top-p: must be a finite number in (0, 1]"},
      {&SamplingFlags::min_p, "1.5", "--min-p: must be a finite number in [0, 1]"},
      {&SamplingFlags::repetition_penalty, "0",
       "--repetition-penalty: must be a finite number in (0, 100]"},
      {&SamplingFlags::presence_penalty, "3", "--presence-penalty: must be a finite number"},
      {&SamplingFlags::frequency_penalty, "-inf", "--frequency-penalty: must be a finite number"},
      {&SamplingFlags::seed, "-1", "--seed: must be an integer in [0, 18446744073709551615]"},
      {&SamplingFlags::logprobs, "21", "--logprobs: must be an integer in [0, 20]"},
  };
  for (const auto& c : cases) {
    SamplingFlags f;
    f.*c.field = c.text;
    sampling::SamplingParams p;
    const auto st = apply(f, p);
    ASSERT_FALSE(st.ok()) << c.expected;
    EXPECT_EQ(st.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(st.error().message.find(c.expected), std::string::npos) << st.error().message;
  }
}

TEST(SamplingFlags, StopTokenIdsAreBoundedInValueAndCount) {
  sampling::SamplingParams p;
  SamplingFlags neg;
  neg.stop_token_ids = {"3", "-1"};
  auto st = apply(neg, p);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("--stop-token-id: must be an integer in [0, 2147483647]"),
            std::string::npos);
  SamplingFlags many;
  many.stop_token_ids.assign(static_cast<std::size_t>(kMaxStopTokenIdFlags) + 1, "1");
  st = apply(many, p);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("--stop-token-id: at most 64 ids, got 65"), std::string::npos)
      << st.error().message;
}

// Every value the flags accept is one SamplingParams::validate accepts: the flag limits
// are never looser than the engine's.
TEST(SamplingFlags, TheBoundsPassTheEnginesValidation) {
  SamplingFlags f;
  f.max_tokens = std::to_string(kMaxTokensLimit);
  f.temperature = "100";
  f.top_k = std::to_string(kMaxTopK);
  f.top_p = "1";
  f.min_p = "1";
  f.repetition_penalty = "100";
  f.presence_penalty = "-2";
  f.frequency_penalty = "2";
  f.logprobs = std::to_string(kMaxLogprobs);
  f.stop_token_ids.assign(static_cast<std::size_t>(kMaxStopTokenIdFlags), "2147483647");
  sampling::SamplingParams p;
  ASSERT_TRUE(apply(f, p).ok());
  EXPECT_TRUE(p.validate().ok()) << p.validate().error().message;
  f.temperature = "0";
  f.logprobs = "0";
  f.max_tokens = "1";
  f.stop_token_ids = {"0"};
  p = {};
  ASSERT_TRUE(apply(f, p).ok());
  EXPECT_TRUE(p.validate().ok()) << p.validate().error().message;
}

}  // namespace
}  // namespace agentrt::cli::flags
