// Samples outputs through JsonSchemaConstraint over real vocabularies with random logits:
// every output must end, parse and validate; the trie walk must equal a brute-force mask.
#include "engine/grammar/json_schema_constraint.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/grammar/matcher.h"
#include "engine/grammar/schema_check.test_util.h"
#include "engine/grammar/token_masker.h"
#include "engine/sampling/sampler.h"

namespace agentrt::grammar {
namespace {

using Json = nlohmann::ordered_json;

std::string tokenizers_dir() {
  const char* env = std::getenv("AGENTRT_TOKENIZERS_DIR");
  const char* home = std::getenv("HOME");
  return env && *env ? env : std::string(home ? home : "") + "/.cache/agentrt/tokenizers";
}

// Loaded once per process: the qwen3 vocabulary takes a moment to build.
std::shared_ptr<const TokenVocabulary> vocabulary(const std::string& which) {
  static std::map<std::string, std::shared_ptr<const TokenVocabulary>> cache;
  if (auto it = cache.find(which); it != cache.end()) return it->second;
  const std::string dir = which == "tiny-calc"
                              ? std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc"
                              : tokenizers_dir() + "/" + which;
  auto tok = tokenizer::Tokenizer::load_dir(dir);
  EXPECT_TRUE(tok.ok()) << dir << " (run scripts/fetch_tokenizers.sh): "
                        << (tok.ok() ? "" : tok.error().message);
  if (!tok.ok()) return nullptr;
  auto vocab = TokenVocabulary::from_tokenizer(*tok);
  EXPECT_TRUE(vocab.ok());
  return cache[which] = vocab.ok() ? *vocab : nullptr;
}

const char* const kSchemas[] = {
    // nesting, enums, arrays, numbers, strings
    R"({"type":"object","properties":{
        "name":{"type":"string"},
        "kind":{"enum":["tool","answer","say \"hi\""]},
        "score":{"type":"number"},
        "count":{"type":"integer"},
        "ok":{"type":"boolean"},
        "tags":{"type":"array","items":{"type":"string"},"maxItems":3},
        "inner":{"type":"object","properties":{"x":{"type":"integer"},"note":{"type":["string","null"]}},
                 "required":["x"],"additionalProperties":false}},
       "required":["name","kind","inner"],"additionalProperties":false})",
    R"({"type":"array","items":{"type":"object","properties":{"k":{"const":"v\\w\n"},
        "n":{"type":"number"}},"required":["k","n"]},"minItems":1,"maxItems":4})",
    R"({"anyOf":[{"type":"string"},{"type":"integer"},{"type":"null"},
        {"type":"array","items":{"enum":[1,12,123]},"maxItems":5}]})",
    R"({"$defs":{"n":{"type":"object","properties":{"v":{"type":"integer"},
        "kids":{"type":"array","items":{"$ref":"#/$defs/n"},"maxItems":2}},"required":["v"]}},
        "$ref":"#/$defs/n"})",
    R"({"type":"object","additionalProperties":{"type":"string"}})",
};

// Random logits pushed towards structure, so that strings and numbers end in a few dozen
// tokens instead of hundreds.
void random_logits(const TokenVocabulary& v, std::mt19937_64& rng, std::vector<float>& out,
                   std::size_t rows) {
  static std::map<const TokenVocabulary*, std::vector<float>> biases;
  std::vector<float>& bias = biases[&v];
  if (bias.empty()) {
    bias.assign(rows, 0.0f);
    for (std::int32_t t = 0; t < v.size(); ++t) {
      if (v.bytes(t).find_first_of("\"]},") != std::string::npos)
        bias[static_cast<std::size_t>(t)] = 7.0f;
    }
    for (std::int32_t e : v.end_tokens())
      bias[static_cast<std::size_t>(e)] = 7.0f;
  }
  // Cheap noise: a normal draw per row would dominate the test's time.
  std::uniform_real_distribution<float> uni(-4.0f, 4.0f);
  out.resize(rows);
  for (std::size_t i = 0; i < rows; ++i)
    out[i] = uni(rng) + bias[i];
}

struct Sampled {
  std::string text;
  bool ended = false;
};

Sampled sample_one(const std::shared_ptr<const JsonSchemaConstraint>& c, std::uint64_t seed,
                   int max_tokens) {
  const TokenVocabulary& v = c->vocabulary();
  sampling::SamplingParams params;
  params.temperature = 1.0f;
  params.top_k = seed % 2 == 0 ? 0 : 40;
  params.constraint = c;
  sampling::Sampler sampler(params, seed);
  std::mt19937_64 rng(seed);
  std::vector<float> logits;
  std::vector<std::int32_t> out;
  Sampled s;
  // Rows wider than the vocabulary, as a model's padded embedding gives.
  const std::size_t rows = static_cast<std::size_t>(v.size()) + 7;
  for (int step = 0; step < max_tokens; ++step) {
    random_logits(v, rng, logits, rows);
    const auto tok = sampler.sample(logits, {}, out).token;
    if (v.is_end(tok)) {
      s.ended = true;
      break;
    }
    EXPECT_LT(tok, v.size());
    s.text += v.bytes(tok);
    out.push_back(tok);
  }
  return s;
}

void sample_and_validate(const std::string& which, int per_schema) {
  auto vocab = vocabulary(which);
  ASSERT_TRUE(vocab);
  for (std::size_t k = 0; k < std::size(kSchemas); ++k) {
    const Json compiled_schema = Json::parse(kSchemas[k]);
    auto c = JsonSchemaConstraint::make(compiled_schema, vocab);
    ASSERT_TRUE(c.ok()) << c.error().message;
    int ended = 0;
    for (int i = 0; i < per_schema; ++i) {
      const auto s = sample_one(*c, 1000 * k + static_cast<std::uint64_t>(i), 600);
      if (!s.ended) continue;  // cut by max tokens: nothing to parse
      ++ended;
      const Json value = Json::parse(s.text, nullptr, false);
      ASSERT_FALSE(value.is_discarded()) << "schema " << k << " output: " << s.text;
      EXPECT_EQ(testing::check(compiled_schema, value), "") << "schema " << k << ": " << s.text;
    }
    EXPECT_GE(ended, per_schema * 3 / 4) << "schema " << k << ": too many outputs never ended";
  }
}

TEST(JsonSchemaConstraint, TinyCalcSamplesParseAndValidate) {
  sample_and_validate("tiny-calc", 60);
}

TEST(JsonSchemaConstraint, Qwen3SamplesParseAndValidate) {
  sample_and_validate("qwen3", 2);
}

// The trie walk must allow exactly the tokens a brute-force check over every id allows.
void check_against_brute_force(const std::string& which, int samples) {
  auto vocab = vocabulary(which);
  ASSERT_TRUE(vocab);
  for (std::size_t k = 0; k < std::size(kSchemas); ++k) {
    auto c = JsonSchemaConstraint::make(Json::parse(kSchemas[k]), vocab);
    ASSERT_TRUE(c.ok());
    for (int i = 0; i < samples; ++i) {
      const auto s = sample_one(*c, 77 + static_cast<std::uint64_t>(i), 400);
      // Walk the sampled text byte-exactly again, checking masks at several points.
      MatchState state(c.value()->grammar());
      std::size_t checked = 0;
      for (std::size_t cut = 0; cut <= s.text.size(); cut += 1 + s.text.size() / 3) {
        MatchState at(c.value()->grammar());
        ASSERT_TRUE(at.advance(std::string_view(s.text).substr(0, cut)));
        sampling::TokenMask fast;
        fast.reset(static_cast<std::size_t>(vocab->size()));
        fill_token_mask(*vocab, at, fast);
        for (std::int32_t t = 0; t < vocab->size(); ++t) {
          bool want = false;
          if (vocab->is_end(t)) {
            want = at.complete();
          } else if (!vocab->bytes(t).empty()) {
            MatchState probe = at;
            want = probe.advance(vocab->bytes(t));
          }
          ASSERT_EQ(fast.test(t), want)
              << "token " << t << " after '" << s.text.substr(0, cut) << "' (schema " << k << ")";
        }
        ++checked;
      }
      EXPECT_GT(checked, 0u);
    }
  }
}

TEST(JsonSchemaConstraint, TinyCalcMaskEqualsBruteForce) {
  check_against_brute_force("tiny-calc", 4);
}

TEST(JsonSchemaConstraint, Qwen3MaskEqualsBruteForce) {
  check_against_brute_force("qwen3", 1);
}

TEST(JsonSchemaConstraint, UnsupportedKeywordNamesItsPointer) {
  auto c = JsonSchemaConstraint::make(
      Json::parse(R"({"type":"object","properties":{"a":{"type":"string","pattern":"x"}}})"),
      vocabulary("tiny-calc"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "/properties/a/pattern: unsupported keyword 'pattern'");
}

TEST(JsonSchemaConstraint, EndTokensOnlyWhenComplete) {
  auto vocab = vocabulary("tiny-calc");
  ASSERT_TRUE(vocab);
  auto c = JsonSchemaConstraint::make(Json::parse(R"({"type":"integer"})"), vocab);
  ASSERT_TRUE(c.ok());
  auto state = c.value()->start();
  const std::int32_t eos = vocab->end_tokens()[0];
  EXPECT_FALSE(state->accept(eos));
  sampling::TokenMask m;
  m.reset(static_cast<std::size_t>(vocab->size()));
  state->allowed(m);
  EXPECT_FALSE(m.test(eos));
  std::int32_t seven = -1;
  for (std::int32_t t = 0; t < vocab->size(); ++t)
    if (vocab->bytes(t) == "7") seven = t;
  ASSERT_GE(seven, 0);
  EXPECT_TRUE(m.test(seven));
  ASSERT_TRUE(state->accept(seven));
  m.reset(static_cast<std::size_t>(vocab->size()));
  state->allowed(m);
  EXPECT_TRUE(m.test(eos));
  EXPECT_TRUE(state->accept(eos));
  EXPECT_TRUE(state->complete());
  EXPECT_FALSE(state->accept(seven));
}

}  // namespace
}  // namespace agentrt::grammar
