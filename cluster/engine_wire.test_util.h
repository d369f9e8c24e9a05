// Shared by the engine wire tests (engine_wire.test.cpp, engine_wire_checks.test.cpp): a
// small vocabulary and schema, the masks a constraint gives along a path, and a fixture with
// an actor system (configure_wire), live subscribers and a node's SchemaConstraints.
#pragma once

#include <gtest/gtest.h>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <limits>

#include "cluster/engine_wire.h"
#include "cluster/wire.h"
#include "engine/grammar/json_schema_constraint.h"

namespace agentrt::cluster::testing {

using Json = nlohmann::ordered_json;

constexpr float kInf = std::numeric_limits<float>::infinity();
inline const float kNaN = std::numeric_limits<float>::quiet_NaN();

// A vocabulary of a few JSON pieces; id 7 ends the output.
inline std::shared_ptr<const grammar::TokenVocabulary> small_vocabulary() {
  return std::make_shared<const grammar::TokenVocabulary>(
      std::vector<std::string>{"{", "}", "\"", "a", ":", "1", "x", "", "true"},
      std::vector<std::int32_t>{7});
}
constexpr std::int32_t kOpen = 0, kClose = 1, kQuote = 2, kA = 3, kColon = 4, kOne = 5, kX = 6,
                       kEnd = 7;

inline constexpr const char* kSchema =
    R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],)"
    R"("additionalProperties":false})";

// The allowed tokens after each prefix of `path`, as a string of 0/1 per token and prefix.
inline std::string masks_along(const sampling::Constraint& c, const std::vector<std::int32_t>& path,
                               std::int32_t vocab_size) {
  std::string out;
  auto state = c.start();
  for (std::size_t i = 0; i <= path.size(); ++i) {
    sampling::TokenMask mask;
    mask.reset(static_cast<std::size_t>(vocab_size));
    state->allowed(mask);
    for (std::int32_t t = 0; t < vocab_size; ++t)
      out += mask.test(t) ? '1' : '0';
    out += '|';
    if (i < path.size() && !state->accept(path[i])) return out + "refused";
  }
  return out;
}

class EngineWire : public ::testing::Test {
 protected:
  EngineWire() {
    configure_wire(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    for (auto& s : subscribers_)
      // With an argument: CAF 0.17 dereferences a null argument tuple for a function actor
      // spawned without any (UBSan: reference binding to null pointer).
      s = sys_->spawn([](int) -> caf::behavior { return {[](const WireTokenBatch&) {}}; }, 0);
  }
  ~EngineWire() override {
    for (auto& s : subscribers_)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  }

  template <class T>
  std::vector<char> bytes_of(T x) {
    std::vector<char> buf;
    caf::binary_serializer sink{*sys_, buf};
    EXPECT_FALSE(sink(x));
    return buf;
  }
  // Deserializes `bytes` into `x`; the error's text, or "" on success.
  template <class T>
  std::string read(const std::vector<char>& bytes, T& x) {
    caf::binary_deserializer source{*sys_, bytes};
    auto err = source(x);
    return err ? sys_->render(err) : "";
  }
  // x through the serializer and back.
  template <class T>
  T trip(const T& x) {
    T got;
    EXPECT_EQ(read(bytes_of(x), got), "");
    return got;
  }

  // A GenerateMsg with every field away from its default.
  actors::GenerateMsg full_generate() {
    actors::GenerateMsg m;
    EngineRequest& r = m.request;
    r.prompt = {5, 6, 7, 8, 9, 10};
    r.params.temperature = 0.7f;
    r.params.top_k = 40;
    r.params.top_p = 0.9f;
    r.params.min_p = 0.05f;
    r.params.repetition_penalty = 1.1f;
    r.params.presence_penalty = -0.5f;
    r.params.frequency_penalty = 0.25f;
    r.params.seed = 0xfedcba9876543210ull;
    r.params.max_tokens = 77;
    r.params.stop_token_ids = {3, 4};
    r.params.stop_strings = {"\n\n", "</s>"};
    r.params.ignore_eos = true;
    r.params.logprobs = 5;
    r.program = 42;
    r.pause_on_finish = std::chrono::milliseconds(1500);
    r.pause_only_at_stop = true;
    r.segments = {{1, 3}, {4, 6}};
    r.kv_reuse = KvReuse::blend;
    r.blend_recompute = 0.25f;
    r.blend_anchors = false;
    m.pause_at_eos = std::chrono::seconds(30);
    m.fork_after_prefill = 1;
    m.subscribers = {subscribers_[0], subscribers_[1]};
    return m;
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::shared_ptr<const grammar::TokenVocabulary> vocab_ = small_vocabulary();
  SchemaConstraints schemas_{vocab_};
  caf::actor subscribers_[3];
};

inline void expect_same_request(const EngineRequest& a, const EngineRequest& b) {
  EXPECT_EQ(a.prompt, b.prompt);
  EXPECT_EQ(float_bits(a.params.temperature), float_bits(b.params.temperature));
  EXPECT_EQ(a.params.top_k, b.params.top_k);
  EXPECT_EQ(float_bits(a.params.top_p), float_bits(b.params.top_p));
  EXPECT_EQ(float_bits(a.params.min_p), float_bits(b.params.min_p));
  EXPECT_EQ(float_bits(a.params.repetition_penalty), float_bits(b.params.repetition_penalty));
  EXPECT_EQ(float_bits(a.params.presence_penalty), float_bits(b.params.presence_penalty));
  EXPECT_EQ(float_bits(a.params.frequency_penalty), float_bits(b.params.frequency_penalty));
  EXPECT_EQ(a.params.seed, b.params.seed);
  EXPECT_EQ(a.params.max_tokens, b.params.max_tokens);
  EXPECT_EQ(a.params.stop_token_ids, b.params.stop_token_ids);
  EXPECT_EQ(a.params.stop_strings, b.params.stop_strings);
  EXPECT_EQ(a.params.ignore_eos, b.params.ignore_eos);
  EXPECT_EQ(a.params.logprobs, b.params.logprobs);
  EXPECT_EQ(a.program, b.program);
  EXPECT_EQ(a.pause_on_finish, b.pause_on_finish);
  EXPECT_EQ(a.pause_only_at_stop, b.pause_only_at_stop);
  EXPECT_EQ(a.segments, b.segments);
  EXPECT_EQ(a.kv_reuse, b.kv_reuse);
  EXPECT_EQ(a.blend_recompute, b.blend_recompute);
  EXPECT_EQ(a.blend_anchors, b.blend_anchors);
}

}  // namespace agentrt::cluster::testing
