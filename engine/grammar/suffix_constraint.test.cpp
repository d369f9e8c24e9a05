// SuffixConstraint over the qwen3 and tiny-calc vocabularies with random logits: every
// output is JSON of the schema, then exactly the suffix, then an end token.
#include "engine/grammar/suffix_constraint.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "engine/grammar/json_schema_constraint.h"
#include "engine/grammar/schema_check.test_util.h"
#include "engine/sampling/sampler.h"

namespace agentrt::grammar {
namespace {

using Json = nlohmann::ordered_json;

std::shared_ptr<const TokenVocabulary> vocabulary(const std::string& dir) {
  auto tok = tokenizer::Tokenizer::load_dir(dir);
  EXPECT_TRUE(tok.ok()) << dir << (tok.ok() ? "" : ": " + tok.error().message);
  if (!tok.ok()) return nullptr;
  auto vocab = TokenVocabulary::from_tokenizer(*tok);
  EXPECT_TRUE(vocab.ok());
  return vocab.ok() ? *vocab : nullptr;
}

std::string tokenizers_dir() {
  const char* env = std::getenv("AGENTRT_TOKENIZERS_DIR");
  const char* home = std::getenv("HOME");
  return env && *env ? env : std::string(home ? home : "") + "/.cache/agentrt/tokenizers";
}

// A forced tool call: the name is fixed, the arguments follow the tool's parameters.
const char* const kCall = R"({"type":"object","properties":{
    "name":{"const":"calculator"},
    "arguments":{"type":"object","properties":{"expression":{"type":"string"}},
                 "required":["expression"],"additionalProperties":false}},
  "required":["name","arguments"],"additionalProperties":false})";

void check_outputs(const std::shared_ptr<const TokenVocabulary>& v) {
  ASSERT_NE(v, nullptr);
  const Json schema = Json::parse(kCall);
  auto inner = JsonSchemaConstraint::make(schema, v);
  ASSERT_TRUE(inner.ok()) << inner.error().message;
  const std::string suffix = "\n</tool_call>";
  auto c = std::make_shared<const SuffixConstraint>(*inner, suffix, v);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> uni(-4.0f, 4.0f);
  const std::size_t rows = static_cast<std::size_t>(v->size());
  std::vector<float> bias(rows, 0.0f);  // towards structure, so strings end soon
  for (std::int32_t t = 0; t < v->size(); ++t)
    if (v->bytes(t).find_first_of("\"}<\n") != std::string::npos) bias[t] = 6.0f;
  std::vector<float> logits(rows);
  for (int run = 0; run < 12; ++run) {
    sampling::SamplingParams params;
    params.temperature = 1.0f;
    params.constraint = c;
    sampling::Sampler sampler(params, static_cast<std::uint64_t>(run));
    std::vector<std::int32_t> out;
    std::string text;
    bool ended = false;
    for (int step = 0; step < 400 && !ended; ++step) {
      for (std::size_t i = 0; i < rows; ++i)
        logits[i] = uni(rng) + bias[i];
      const auto tok = sampler.sample(logits, {}, out).token;
      if (v->is_end(tok)) {
        ended = true;
        break;
      }
      text += v->bytes(tok);
      out.push_back(tok);
    }
    ASSERT_TRUE(ended) << "run " << run << ": " << text;
    ASSERT_GE(text.size(), suffix.size());
    ASSERT_EQ(text.substr(text.size() - suffix.size()), suffix) << text;
    const std::string body = text.substr(0, text.size() - suffix.size());
    Json value;
    ASSERT_NO_THROW(value = Json::parse(body)) << body;
    EXPECT_EQ(testing::check(schema, value), "") << body;
  }
}

TEST(SuffixConstraint, ToolCallsAreJsonOfTheSchemaThenTheMarker) {
  check_outputs(vocabulary(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc"));
  check_outputs(vocabulary(tokenizers_dir() + "/qwen3"));
}

// The suffix stage allows exactly the tokens that spell its next bytes, then end tokens.
TEST(SuffixConstraint, AfterTheJsonOnlyTheSuffixThenAnEnd) {
  auto v = vocabulary(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
  ASSERT_NE(v, nullptr);
  auto inner = JsonSchemaConstraint::make(Json::parse(R"({"type":"integer"})"), v);
  ASSERT_TRUE(inner.ok());
  SuffixConstraint c(*inner, "!?", v);
  auto s = c.start();
  std::int32_t seven = -1, bang = -1, query = -1;
  for (std::int32_t t = 0; t < v->size(); ++t) {
    if (v->bytes(t) == "7") seven = t;
    if (v->bytes(t) == "!") bang = t;
    if (v->bytes(t) == "?") query = t;
  }
  ASSERT_GE(seven, 0);
  ASSERT_GE(bang, 0);
  ASSERT_GE(query, 0);
  ASSERT_TRUE(s->accept(seven));
  EXPECT_FALSE(s->complete());
  sampling::TokenMask m;
  m.reset(static_cast<std::size_t>(v->size()));
  s->allowed(m);
  EXPECT_TRUE(m.test(bang));
  EXPECT_FALSE(m.test(seven));  // the integer cannot go on once the suffix may start
  EXPECT_FALSE(m.test(query));
  for (std::int32_t e : v->end_tokens())
    EXPECT_FALSE(m.test(e));
  EXPECT_FALSE(s->accept(query));
  ASSERT_TRUE(s->accept(bang));
  ASSERT_TRUE(s->accept(query));
  EXPECT_TRUE(s->complete());
  m.reset(static_cast<std::size_t>(v->size()));
  s->allowed(m);
  EXPECT_EQ(m.count(), v->end_tokens().size());
  EXPECT_TRUE(s->accept(v->end_tokens()[0]));
  EXPECT_FALSE(s->accept(bang));
}

}  // namespace
}  // namespace agentrt::grammar
