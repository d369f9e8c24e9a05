// from_wire's checks of what a peer sent (engine_wire.h): each names the message and the
// field; infinities and NaN cross as bits and are refused; SchemaConstraints' LRU.
#include "cluster/engine_wire.h"

#include <gtest/gtest.h>

#include <functional>

#include "cluster/engine_wire.test_util.h"

namespace agentrt::cluster {
namespace {

using namespace testing;

TEST_F(EngineWire, InfinitiesAndNaNCrossAsBitsAndAreRefusedNamingTheField) {
  auto base = to_wire(full_generate());
  ASSERT_TRUE(base.ok());
  const std::vector<std::pair<std::function<void(WireGenerate&)>, std::string>> cases = {
      {[](WireGenerate& w) { w.request.params.top_p = float_bits(kInf); },
       "generate: /request/params/top_p: must be in (0, 1], got inf"},
      {[](WireGenerate& w) { w.request.params.temperature = float_bits(kNaN); },
       "generate: /request/params/temperature: must be >= 0, got nan"},
      {[](WireGenerate& w) { w.request.params.repetition_penalty = float_bits(kInf); },
       "generate: /request/params/repetition_penalty: must be > 0, got inf"},
      {[](WireGenerate& w) { w.request.params.presence_penalty = float_bits(-kInf); },
       "generate: /request/params/presence_penalty: must be in [-2, 2], got -inf"},
      {[](WireGenerate& w) { w.request.blend_recompute = float_bits(kNaN); },
       "generate: /request/blend_recompute: must be in [0, 1], got nan"},
      {[](WireGenerate& w) { w.request.blend_recompute = float_bits(kInf); },
       "generate: /request/blend_recompute: must be in [0, 1], got inf"},
  };
  for (const auto& [spoil, want] : cases) {
    WireGenerate w = *base;
    spoil(w);
    auto got = from_wire(trip(w), schemas_);  // serializing the bits never hangs
    ASSERT_FALSE(got.ok()) << want;
    EXPECT_EQ(got.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(got.error().message, want);
  }
  WireTokenBatch b;
  b.tokens = {1, 2};
  b.logprobs = {float_bits(-1.0f), float_bits(kNaN)};
  auto got = from_wire(trip(b));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message, "token batch: /logprobs/1: must be a number or -inf, got nan");
  b.logprobs = {float_bits(kInf), float_bits(-1.0f)};
  got = from_wire(trip(b));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message, "token batch: /logprobs/0: must be a number or -inf, got inf");
  b.logprobs = {float_bits(-1.0f), float_bits(-2.0f)};
  b.top = {{}, {{{4, float_bits(kNaN)}}}};
  got = from_wire(trip(b));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().message,
            "token batch: /top/1/0/logprob: must be a number or -inf, got nan");
}

TEST_F(EngineWire, GenerateChecksNameTheFieldAPeerGotWrong) {
  auto base = to_wire(full_generate());
  ASSERT_TRUE(base.ok());
  ASSERT_TRUE(from_wire(*base, schemas_).ok());
  const caf::actor none;
  const std::vector<std::pair<std::function<void(WireGenerate&)>, std::string>> cases = {
      {[](WireGenerate& w) { w.fork_after_prefill = -1; },
       "/fork_after_prefill: must be >= 0, got -1"},
      {[](WireGenerate& w) { w.samples_after_prefill = -2; },
       "/samples_after_prefill: must be >= 0, got -2"},
      {[](WireGenerate& w) { w.samples_after_prefill = 2; },
       "/samples_after_prefill: must be 0 with fork_after_prefill 1"},
      {[](WireGenerate& w) { w.fork_after_prefill = 2; },
       "/subscribers: 2 subscribers, need one per sample: 3"},
      {[](WireGenerate& w) {
         w.fork_after_prefill = 0;
         w.subscribers.clear();
       },
       "/subscribers: 0 subscribers, need one per sample: 1"},
      {[&none](WireGenerate& w) { w.subscribers[1] = none; }, "/subscribers/1: a null actor"},
      {[](WireGenerate& w) {
         w.has_pause_at_eos = true;
         w.pause_at_eos_ns = -1;
       },
       "/pause_at_eos_ns: must be >= 0 ns, got -1"},
      {[](WireGenerate& w) { w.request.pause_on_finish_ns = -5; },
       "/request/pause_on_finish_ns: must be >= 0 ns, got -5"},
      {[](WireGenerate& w) { w.request.prompt.clear(); }, "/request/prompt: must not be empty"},
      {[](WireGenerate& w) { w.request.prompt[2] = -3; },
       "/request/prompt/2: must be a token id >= 0, got -3"},
      {[](WireGenerate& w) {
         w.request.segments = {{4, 6}, {1, 3}};
       },
       "/request/segments/1: [1, 3) starts before the previous span's end 6"},
      {[](WireGenerate& w) {
         w.request.segments = {{1, 4}, {3, 5}};
       },
       "/request/segments/1: [3, 5) starts before the previous span's end 4"},
      {[](WireGenerate& w) {
         w.request.segments = {{4, 7}};
       },
       "/request/segments/0: [4, 7) ends past the 6 tokens"},
      {[](WireGenerate& w) {
         w.request.segments = {{2, 2}};
       },
       "/request/segments/0: [2, 2) is not a non-empty span"},
      {[](WireGenerate& w) {
         w.request.segments = {{-1, 2}};
       },
       "/request/segments/0: [-1, 2) is not a non-empty span"},
      {[](WireGenerate& w) { w.request.kv_reuse = 2; },
       "/request/kv_reuse: must be 0 (exact) or 1 (blend), got 2"},
      {[](WireGenerate& w) { w.request.blend_recompute = float_bits(1.5f); },
       "/request/blend_recompute: must be in [0, 1], got 1.5"},
      {[](WireGenerate& w) { w.request.blend_anchors = 3; },
       "/request/blend_anchors: must be -1 (unset), 0 or 1, got 3"},
      {[](WireGenerate& w) { w.request.params.max_tokens = 0; },
       "/request/params/max_tokens: must be >= 1, got 0"},
      {[](WireGenerate& w) { w.request.params.top_k = -1; },
       "/request/params/top_k: must be >= 0, got -1"},
      {[](WireGenerate& w) { w.request.params.logprobs = 21; },
       "/request/params/logprobs: must be in [-1, 20], got 21"},
      {[](WireGenerate& w) {
         w.request.params.stop_token_ids = {1, -4};
       },
       "/request/params/stop_token_ids/1: must be >= 0, got -4"},
      {[](WireGenerate& w) {
         w.request.params.stop_strings = {"a", ""};
       },
       "/request/params/stop_strings/1: must not be empty"},
      {[](WireGenerate& w) { w.request.params.constraint_schema = "{not json"; },
       "/request/params/constraint_schema: "},
      {[](WireGenerate& w) { w.request.params.constraint_schema = R"({"pattern":"a+"})"; },
       "/request/params/constraint_schema: /pattern: unsupported keyword 'pattern'"},
  };
  for (const auto& [spoil, want] : cases) {
    WireGenerate w = *base;
    spoil(w);
    auto got = from_wire(w, schemas_);
    ASSERT_FALSE(got.ok()) << want;
    EXPECT_EQ(got.error().message.rfind("generate: " + want, 0), 0u)
        << got.error().message << "\n  wanted: generate: " << want;
  }
}

TEST_F(EngineWire, ResumeChecksNameTheFieldAPeerGotWrong) {
  WireResume base;
  base.id = 4;
  base.appended = {1, 2, 3};
  ASSERT_TRUE(from_wire(base, schemas_).ok());
  const std::vector<std::pair<std::function<void(WireResume&)>, std::string>> cases = {
      {[](WireResume& w) { w.id = 0; }, "/id: must be a request id >= 1, got 0"},
      {[](WireResume& w) { w.appended[1] = -1; }, "/appended/1: must be a token id >= 0, got -1"},
      {[](WireResume& w) { w.has_max_tokens = true; }, "/max_tokens: must be >= 1, got 0"},
      {[](WireResume& w) {
         w.has_pause_at_eos = true;
         w.pause_at_eos_ns = -7;
       },
       "/pause_at_eos_ns: must be >= 0 ns, got -7"},
      {[](WireResume& w) { w.constraint_mode = 3; },
       "/constraint_mode: must be 0 (keep), 1 (none) or 2 (schema), got 3"},
      {[](WireResume& w) { w.constraint_schema = kSchema; },
       "/constraint_schema: set with constraint_mode 0"},
      {[](WireResume& w) { w.constraint_mode = kWireConstraintSchema; },
       "/constraint_schema: must not be empty with constraint_mode 2"},
      {[](WireResume& w) {
         w.segments = {{1, 4}};
       },
       "/segments/0: [1, 4) ends past the 3 tokens"},
  };
  for (const auto& [spoil, want] : cases) {
    WireResume w = base;
    spoil(w);
    auto got = from_wire(w, schemas_);
    ASSERT_FALSE(got.ok()) << want;
    EXPECT_EQ(got.error().message.rfind("resume: " + want, 0), 0u)
        << got.error().message << "\n  wanted: resume: " << want;
  }
}

TEST_F(EngineWire, ReplyAndBatchChecksNameTheFieldAPeerGotWrong) {
  const std::vector<std::pair<WireReply, std::string>> replies = {
      {{-1, -1, ""}, "generate reply: /id: must be >= 0, got -1"},
      {{0, 11, "x"},
       "generate reply: /error_code: must be -1 (none) or an error code in [0, 10], got 11"},
      {{0, -2, "x"},
       "generate reply: /error_code: must be -1 (none) or an error code in [0, 10], got -2"},
      {{0, 8, ""}, "generate reply: /error_message: must not be empty with an error code"},
      {{3, -1, "x"}, "generate reply: /error_message: set without an error code"},
  };
  for (const auto& [w, want] : replies) {
    auto got = from_wire(w);
    ASSERT_FALSE(got.ok()) << want;
    EXPECT_EQ(got.error().message, want);
  }
  WireTokenBatch base;
  base.id = 2;
  base.tokens = {1, 2};
  base.logprobs = {float_bits(-1.0f), float_bits(-2.0f)};
  ASSERT_TRUE(from_wire(base).ok());
  const std::vector<std::pair<std::function<void(WireTokenBatch&)>, std::string>> cases = {
      {[](WireTokenBatch& w) { w.id = -1; }, "/id: must be >= 0, got -1"},
      {[](WireTokenBatch& w) { w.tokens[0] = -1; }, "/tokens/0: must be a token id >= 0, got -1"},
      {[](WireTokenBatch& w) { w.logprobs.pop_back(); },
       "/logprobs: 1 for 2 tokens (none or one per token)"},
      {[](WireTokenBatch& w) { w.finish = 4; },
       "/finish: must be -1 (none) or a finish reason in [0, 3], got 4"},
      {[](WireTokenBatch& w) { w.error_code = 12; },
       "/error_code: must be -1 (none) or an error code in [0, 10], got 12"},
      {[](WireTokenBatch& w) { w.cached_tokens = -2; },
       "/cached_tokens: must be >= 0, or -1 (none), got -2"},
      {[](WireTokenBatch& w) { w.top = {{}}; },
       "/top: 1 lists for 2 tokens (none or one per token)"},
      {[](WireTokenBatch& w) {
         w.top = {{}, {{{-5, 0}}}};
       },
       "/top/1/0/token: must be a token id >= 0, got -5"},
  };
  for (const auto& [spoil, want] : cases) {
    WireTokenBatch w = base;
    spoil(w);
    auto got = from_wire(w);
    ASSERT_FALSE(got.ok()) << want;
    EXPECT_EQ(got.error().message, "token batch: " + want);
  }
}

TEST(SchemaConstraints, KeepsTheMostRecentlyUsedSchemasUpToItsCapacity) {
  SchemaConstraints cache(small_vocabulary(), 2);
  const std::string a = R"({"type":"integer"})", b = R"({"type":"string"})",
                    c = R"({"type":"boolean"})";
  auto first_a = cache.get(a);
  ASSERT_TRUE(first_a.ok()) << first_a.error().message;
  ASSERT_TRUE(cache.get(b).ok());
  auto again_a = cache.get(a);  // a is now the most recent
  ASSERT_TRUE(again_a.ok());
  EXPECT_EQ(*again_a, *first_a);
  ASSERT_TRUE(cache.get(c).ok());  // drops b
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(*cache.get(a), *first_a);
  auto bad = cache.get("[");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::parse);
  EXPECT_EQ(cache.size(), 2u);
  SchemaConstraints without(nullptr);
  auto none = without.get(a);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::unsupported);
}

}  // namespace
}  // namespace agentrt::cluster
