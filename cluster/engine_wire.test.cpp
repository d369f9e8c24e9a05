// The engine messages' wire form (engine_wire.h): round trips through CAF's binary
// serializer, a structured-output request rebuilt over the node's vocabulary, the caps, and
// the fuzz seeds (with AGENTRT_WRITE_SEEDS=1 the seed test writes them,
// tests/fuzz/corpus/cluster_wire/engine_*, instead of reading them). from_wire's checks:
// engine_wire_checks.test.cpp.
#include "cluster/engine_wire.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "cluster/engine_wire.test_util.h"

namespace agentrt::cluster {
namespace {

using namespace testing;

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
