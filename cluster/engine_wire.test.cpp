// The engine messages' wire form (engine_wire.h): round trips through CAF's binary
// serializer, a structured-output request rebuilt over the node's vocabulary, the caps, and
// every check of from_wire. With AGENTRT_WRITE_SEEDS=1 the seed test writes the fuzz seeds
// (tests/fuzz/corpus/cluster_wire/engine_*) instead of reading them.
#include "cluster/engine_wire.h"

#include <gtest/gtest.h>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>

#include "cluster/wire.h"
#include "engine/grammar/json_schema_constraint.h"

namespace agentrt::cluster {
namespace {

using Json = nlohmann::ordered_json;

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// A vocabulary of a few JSON pieces; id 7 ends the output.
std::shared_ptr<const grammar::TokenVocabulary> small_vocabulary() {
  return std::make_shared<const grammar::TokenVocabulary>(
      std::vector<std::string>{"{", "}", "\"", "a", ":", "1", "x", "", "true"},
      std::vector<std::int32_t>{7});
}
constexpr std::int32_t kOpen = 0, kClose = 1, kQuote = 2, kA = 3, kColon = 4, kOne = 5, kX = 6,
                       kEnd = 7;

const char* const kSchema =
    R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],)"
    R"("additionalProperties":false})";

// The allowed tokens after each prefix of `path`, as a string of 0/1 per token and prefix.
std::string masks_along(const sampling::Constraint& c, const std::vector<std::int32_t>& path,
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
      s = sys_->spawn([]() -> caf::behavior { return {[](const WireTokenBatch&) {}}; });
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

void expect_same_request(const EngineRequest& a, const EngineRequest& b) {
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
}

TEST_F(EngineWire, GenerateSurvivesTheTripWithEveryField) {
  const actors::GenerateMsg m = full_generate();
  auto w = to_wire(m);
  ASSERT_TRUE(w.ok()) << w.error().message;
  auto got = from_wire(trip(*w), schemas_);
  ASSERT_TRUE(got.ok()) << got.error().message;
  expect_same_request(got->request, m.request);
  EXPECT_EQ(got->pause_at_eos, m.pause_at_eos);
  EXPECT_EQ(got->fork_after_prefill, 1);
  EXPECT_EQ(got->samples_after_prefill, 0);
  EXPECT_EQ(got->subscribers, m.subscribers);  // the same actors, found again by id
  EXPECT_EQ(got->request.params.constraint, nullptr);

  // Defaults (no seed, program, pause or blend fraction) stay unset; samples instead of forks.
  actors::GenerateMsg plain;
  plain.request.prompt = {1};
  plain.samples_after_prefill = 3;
  plain.subscribers = {subscribers_[0], subscribers_[1], subscribers_[2]};
  auto pw = to_wire(plain);
  ASSERT_TRUE(pw.ok());
  auto pgot = from_wire(trip(*pw), schemas_);
  ASSERT_TRUE(pgot.ok()) << pgot.error().message;
  expect_same_request(pgot->request, plain.request);
  EXPECT_FALSE(pgot->request.params.seed);
  EXPECT_FALSE(pgot->request.blend_recompute);
  EXPECT_FALSE(pgot->pause_at_eos);
  EXPECT_EQ(pgot->samples_after_prefill, 3);
}

TEST_F(EngineWire, AStructuredOutputRequestGetsTheSameConstraintOverTheNodesVocabulary) {
  auto local = grammar::JsonSchemaConstraint::make(Json::parse(kSchema), vocab_);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ((*local)->schema_text(), Json::parse(kSchema).dump());
  actors::GenerateMsg m = full_generate();
  m.request.params.constraint = *local;
  auto w = to_wire(m);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->request.params.constraint_schema, (*local)->schema_text());
  // The node has its own vocabulary object (equal contents), as a real node would.
  SchemaConstraints node_schemas(small_vocabulary());
  auto got = from_wire(trip(*w), node_schemas);
  ASSERT_TRUE(got.ok()) << got.error().message;
  const auto* remote =
      dynamic_cast<const grammar::JsonSchemaConstraint*>(got->request.params.constraint.get());
  ASSERT_NE(remote, nullptr);
  EXPECT_EQ(remote->schema_text(), (*local)->schema_text());
  // {"a":1} then the end token: the same masks at every step, and they constrain.
  const std::vector<std::int32_t> path = {kOpen, kQuote, kA, kQuote, kColon, kOne, kClose, kEnd};
  const std::string masks = masks_along(**local, path, vocab_->size());
  EXPECT_EQ(masks_along(*remote, path, vocab_->size()), masks);
  EXPECT_EQ(masks.find("refused"), std::string::npos) << masks;
  auto state = remote->start();
  sampling::TokenMask first;
  first.reset(static_cast<std::size_t>(vocab_->size()));
  state->allowed(first);
  EXPECT_TRUE(first.test(kOpen));
  EXPECT_FALSE(first.test(kX));
  EXPECT_FALSE(first.test(kEnd));
  EXPECT_FALSE(state->accept(kX));
  EXPECT_TRUE(state->accept(kOpen));
  // A second request with the schema shares the node's compiled constraint.
  auto again = from_wire(trip(*w), node_schemas);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->request.params.constraint, got->request.params.constraint);
  EXPECT_EQ(node_schemas.size(), 1u);
}

class NotASchema final : public sampling::Constraint {
 public:
  std::unique_ptr<sampling::ConstraintState> start() const override { return nullptr; }
  std::span<const std::int32_t> end_tokens() const override { return {}; }
};

TEST_F(EngineWire, AConstraintWithoutSchemaTextCannotBeSent) {
  actors::GenerateMsg m = full_generate();
  m.request.params.constraint = std::make_shared<const NotASchema>();
  auto w = to_wire(m);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, ErrorCode::unsupported);
  EXPECT_NE(w.error().message.find("generate: /request/params/constraint: only a JSON-schema"),
            std::string::npos)
      << w.error().message;
  auto g = grammar::compile_schema_text(kSchema);
  ASSERT_TRUE(g.ok());
  m.request.params.constraint = std::make_shared<const grammar::JsonSchemaConstraint>(*g, vocab_);
  w = to_wire(m);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, ErrorCode::unsupported);
  EXPECT_NE(w.error().message.find("does not know its schema's text"), std::string::npos);
  actors::ResumeMsg r;
  r.id = 1;
  r.constraint = std::shared_ptr<const sampling::Constraint>(std::make_shared<NotASchema>());
  auto rw = to_wire(r);
  ASSERT_FALSE(rw.ok());
  EXPECT_NE(rw.error().message.find("resume: /constraint:"), std::string::npos);
}

TEST_F(EngineWire, ResumeSurvivesTheTripInEachConstraintMode) {
  auto local = grammar::JsonSchemaConstraint::make(Json::parse(kSchema), vocab_);
  ASSERT_TRUE(local.ok());
  actors::ResumeMsg m;
  m.id = 17;
  m.appended = {1, 2, 3, 4};
  m.max_tokens = 9;
  m.pause_at_eos = std::chrono::milliseconds(250);
  m.segments = {{0, 2}};
  struct Mode {
    std::optional<std::shared_ptr<const sampling::Constraint>> constraint;
    std::int32_t wire_mode;
  };
  for (const Mode& mode : {Mode{std::nullopt, kWireConstraintKeep},
                           Mode{std::shared_ptr<const sampling::Constraint>(), kWireConstraintNone},
                           Mode{*local, kWireConstraintSchema}}) {
    m.constraint = mode.constraint;
    auto w = to_wire(m);
    ASSERT_TRUE(w.ok()) << w.error().message;
    EXPECT_EQ(w->constraint_mode, mode.wire_mode);
    auto got = from_wire(trip(*w), schemas_);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->id, 17);
    EXPECT_EQ(got->appended, m.appended);
    EXPECT_EQ(got->max_tokens, 9);
    EXPECT_EQ(got->pause_at_eos, m.pause_at_eos);
    EXPECT_EQ(got->segments, m.segments);
    ASSERT_EQ(got->constraint.has_value(), mode.constraint.has_value());
    if (mode.wire_mode == kWireConstraintNone) {
      EXPECT_EQ(*got->constraint, nullptr);
    }
    if (mode.wire_mode == kWireConstraintSchema) {
      ASSERT_NE(*got->constraint, nullptr);
      EXPECT_EQ(masks_along(**got->constraint, {kOpen, kQuote}, vocab_->size()),
                masks_along(**local, {kOpen, kQuote}, vocab_->size()));
    }
  }
  m = actors::ResumeMsg{};
  m.id = 3;
  auto got = from_wire(trip(*to_wire(m)), schemas_);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->max_tokens);
  EXPECT_FALSE(got->pause_at_eos);
  EXPECT_FALSE(got->constraint);
}

TEST_F(EngineWire, RepliesAndTokenBatchesSurviveTheTrip) {
  auto ok = from_wire(trip(to_wire(actors::GenerateReply{12, std::nullopt})));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->id, 12);
  EXPECT_FALSE(ok->error);
  auto refused = from_wire(trip(
      to_wire(actors::GenerateReply{0, make_error(ErrorCode::overloaded, "engine overloaded")})));
  ASSERT_TRUE(refused.ok());
  ASSERT_TRUE(refused->error);
  EXPECT_EQ(refused->error->code, ErrorCode::overloaded);
  EXPECT_EQ(refused->error->message, "engine overloaded");

  actors::TokenBatch b;
  b.id = 5;
  b.tokens = {10, 11};
  b.logprobs = {-0.5f, -kInf};  // a ruled-out token's logprob is -inf, and crosses
  b.finish = FinishReason::stop_token;
  b.paused_at_eos = true;
  b.cached_tokens = 32;
  b.top = {{{10, -0.5f}, {3, -1.25f}}, {{11, -kInf}}};
  auto got = from_wire(trip(to_wire(b)));
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->id, 5);
  EXPECT_EQ(got->tokens, b.tokens);
  EXPECT_EQ(got->logprobs, b.logprobs);
  EXPECT_EQ(got->finish, FinishReason::stop_token);
  EXPECT_TRUE(got->paused_at_eos);
  EXPECT_FALSE(got->cancelled);
  EXPECT_FALSE(got->error);
  EXPECT_EQ(got->cached_tokens, 32);
  ASSERT_EQ(got->top.size(), 2u);
  ASSERT_EQ(got->top[0].size(), 2u);
  EXPECT_EQ(got->top[0][1].token, 3);
  EXPECT_EQ(got->top[0][1].logprob, -1.25f);
  EXPECT_EQ(got->top[1][0].logprob, -kInf);

  actors::TokenBatch failed{
      0, {}, {}, std::nullopt, false, true, make_error(ErrorCode::internal, "step failed")};
  auto fgot = from_wire(trip(to_wire(failed)));
  ASSERT_TRUE(fgot.ok()) << fgot.error().message;
  EXPECT_TRUE(fgot->cancelled);
  ASSERT_TRUE(fgot->error);
  EXPECT_EQ(fgot->error->code, ErrorCode::internal);
  EXPECT_EQ(fgot->error->message, "step failed");
  EXPECT_FALSE(fgot->finish);
  EXPECT_EQ(fgot->cached_tokens, -1);
}

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

// CAF's length prefix: 7 bits a byte, low bits first, the top bit set on all but the last.
std::vector<char> varbyte(std::uint32_t n) {
  std::vector<char> out;
  do {
    std::uint8_t b = n & 0x7f;
    n >>= 7;
    if (n != 0) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (n != 0);
  return out;
}

TEST_F(EngineWire, ListsAndStringsOverTheirCapsAreRefused) {
  // A prompt claiming one token more than the cap, with no tokens following: refused on the
  // claimed count (a missing token would be "end of input").
  WireRequest r;
  EXPECT_NE(
      read(varbyte(static_cast<std::uint32_t>(kMaxWireListItems + 1)), r).find("over the cap"),
      std::string::npos);
  const std::string short_input = read(varbyte(3), r);  // under the cap: the input ends
  EXPECT_NE(short_input, "");
  EXPECT_EQ(short_input.find("over the cap"), std::string::npos) << short_input;
  // The writer does not check caps; the reader refuses each list and string over its own.
  WireSampling s;
  s.stop_strings.assign(sampling::kMaxStopStrings + 1, "x");
  EXPECT_NE(read(bytes_of(s), s).find("over the cap of 64"), std::string::npos);
  s = WireSampling{};
  s.stop_strings = {std::string(sampling::kMaxStopStringBytes + 1, 'x')};
  EXPECT_NE(read(bytes_of(s), s).find("over the cap of 1024"), std::string::npos);
  s = WireSampling{};
  s.stop_token_ids.assign(sampling::kMaxStopTokenIds + 1, 1);
  EXPECT_NE(read(bytes_of(s), s).find("over the cap of 1024"), std::string::npos);
  s = WireSampling{};
  s.constraint_schema = std::string(kMaxWireSchemaBytes + 1, ' ');
  EXPECT_NE(read(bytes_of(s), s).find("over the cap"), std::string::npos);
  WireGenerate g;
  g.subscribers.assign(kMaxWireSubscribers + 1, subscribers_[0]);
  EXPECT_NE(read(bytes_of(g), g).find("over the cap of 1024"), std::string::npos);
  WireTokenBatch b;
  b.tokens = {1};
  b.top = {WireTopLogprobs{std::vector<WireTokenLogprob>(kMaxWireTopLogprobs + 1)}};
  EXPECT_NE(read(bytes_of(b), b).find("over the cap of 20"), std::string::npos);
  // At the caps, they read.
  s = WireSampling{};
  s.stop_strings.assign(sampling::kMaxStopStrings, std::string(sampling::kMaxStopStringBytes, 'y'));
  WireSampling back;
  EXPECT_EQ(read(bytes_of(s), back), "");
  EXPECT_EQ(back.stop_strings, s.stop_strings);
  // And to_wire refuses what the reader would drop.
  actors::GenerateMsg m = full_generate();
  m.request.prompt.assign(kMaxWireListItems + 1, 1);
  auto w = to_wire(m);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message,
            "generate: /request/prompt: 1048577 items, over the wire cap of 1048576");
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

// The fuzz seeds (tests/fuzz/corpus/cluster_wire/engine_*; the first byte picks
// cluster_wire.fuzz.cpp's reader) are such messages. A seed's subscribers are none: an actor
// handle only reads back in the process that wrote it; the harness adds its own.
TEST_F(EngineWire, FuzzSeedsReadAndConvert) {
  const std::string dir = std::string(AGENTRT_SOURCE_DIR) + "/tests/fuzz/corpus/cluster_wire/";
  const bool write = std::getenv("AGENTRT_WRITE_SEEDS") != nullptr;
  auto seed = [&](const std::string& name, char reader, std::vector<char> bytes) {
    if (write) {
      std::ofstream out(dir + name, std::ios::binary);
      out.put(reader);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    std::ifstream in(dir + name, std::ios::binary);
    std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_GT(file.size(), 1u) << name;
    if (file.empty()) return file;
    EXPECT_EQ(file[0], reader) << name;
    return std::vector<char>(file.begin() + 1, file.end());
  };
  actors::GenerateMsg g = full_generate();
  auto local = grammar::JsonSchemaConstraint::make(Json::parse(kSchema), vocab_);
  ASSERT_TRUE(local.ok());
  g.request.params.constraint = *local;
  auto gw = to_wire(g);
  ASSERT_TRUE(gw.ok());
  gw->subscribers.clear();
  WireGenerate gread;
  EXPECT_EQ(read(seed("engine_generate", 17, bytes_of(*gw)), gread), "");
  gread.subscribers.assign(2, subscribers_[0]);
  auto gm = from_wire(gread, schemas_);
  ASSERT_TRUE(gm.ok()) << gm.error().message;
  EXPECT_NE(gm->request.params.constraint, nullptr);

  actors::ResumeMsg r;
  r.id = 7;
  r.appended = {1, 2, 3};
  r.max_tokens = 5;
  r.constraint = *local;
  r.segments = {{0, 3}};
  WireResume rread;
  EXPECT_EQ(read(seed("engine_resume", 18, bytes_of(*to_wire(r))), rread), "");
  EXPECT_TRUE(from_wire(rread, schemas_).ok());

  WireReply pread;
  EXPECT_EQ(read(seed("engine_reply", 19,
                      bytes_of(to_wire(actors::GenerateReply{
                          0, make_error(ErrorCode::overloaded, "engine overloaded")}))),
                 pread),
            "");
  EXPECT_TRUE(from_wire(pread).ok());

  actors::TokenBatch b;
  b.id = 9;
  b.tokens = {4, 5};
  b.logprobs = {-0.25f, -kInf};
  b.finish = FinishReason::length;
  b.cached_tokens = 16;
  b.top = {{{4, -0.25f}, {6, -2.0f}}, {{5, -kInf}}};
  WireTokenBatch bread;
  EXPECT_EQ(read(seed("engine_token_batch", 20, bytes_of(to_wire(b))), bread), "");
  EXPECT_TRUE(from_wire(bread).ok());
}

}  // namespace
}  // namespace agentrt::cluster
