#include "engine/generator.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace agentrt {
namespace {

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a * 0x9e3779b97f4a7c15ull + b + 0x632be59bd9b4e019ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A toy model whose logits depend on the whole history, read back through the paged
// cache: each slot stores the hash of the sequence up to it, so a wrong block table or
// position changes the output.
class ToyBackend final : public Backend {
 public:
  ToyBackend(int num_blocks, int block_size, int vocab)
      : cache_(static_cast<std::size_t>(num_blocks * block_size)), vocab_(vocab) {
    geo_.num_blocks = num_blocks;
    geo_.block_size = block_size;
    geo_.num_layers = geo_.num_kv_heads = geo_.head_dim = 1;
  }
  std::string name() const override { return "toy"; }
  const KvGeometry& kv_geometry() const override { return geo_; }
  int steps = 0;
  int nan_at_step = -1;  // that step's first logit becomes NaN

  Status forward(const BatchPlan& plan, Logits& out) override {
    ++steps;
    const bool poison = steps == nan_at_step;
    out.vocab = vocab_;
    out.rows = 0;
    out.data.clear();
    for (const auto& s : plan.seqs) {
      for (std::size_t i = 0; i < s.tokens.size(); ++i) {
        const int pos = s.start_pos + static_cast<int>(i);
        const auto slot = [&](int p) -> Result<std::size_t> {
          const auto b = static_cast<std::size_t>(p / geo_.block_size);
          if (b >= s.block_table.size() || s.block_table[b] < 0 ||
              s.block_table[b] >= geo_.num_blocks) {
            return make_error(ErrorCode::invalid_argument, "bad block table");
          }
          return static_cast<std::size_t>(s.block_table[b] * geo_.block_size + p % geo_.block_size);
        };
        auto here = slot(pos);
        if (!here.ok()) return here.error();
        std::uint64_t prev = 12345;
        if (pos > 0) {
          auto before = slot(pos - 1);
          if (!before.ok()) return before.error();
          prev = cache_[*before];
        }
        const std::uint64_t h = mix(prev, static_cast<std::uint64_t>(s.tokens[i]));
        cache_[*here] = h;
        if (i + 1 == s.tokens.size() || s.all_logits) {
          for (int v = 0; v < vocab_; ++v) {
            out.data.push_back(static_cast<float>(mix(h, static_cast<std::uint64_t>(v)) >> 40) /
                               16777216.0f * 6.0f);
          }
          ++out.rows;
        }
      }
    }
    if (poison && !out.data.empty()) out.data[0] = std::numeric_limits<float>::quiet_NaN();
    return ok_status();
  }
  Status copy_blocks(std::span<const std::pair<std::int32_t, std::int32_t>>) override {
    return ok_status();
  }

 private:
  KvGeometry geo_;
  std::vector<std::uint64_t> cache_;
  int vocab_;
};

model::ModelConfig toy_config(int vocab = 32) {
  model::ModelConfig c;
  c.vocab_size = vocab;
  c.max_position_embeddings = 4096;
  c.eos_token_ids = {};
  return c;
}

std::vector<std::int32_t> prompt_of(std::size_t n, std::uint64_t seed) {
  std::vector<std::int32_t> p;
  for (std::size_t i = 0; i < n; ++i)
    p.push_back(static_cast<std::int32_t>(mix(seed, i) % 32));
  return p;
}

GenerationRequest request(std::size_t prompt_len, int max_tokens, float temperature = 0.0f,
                          std::uint64_t seed = 1) {
  GenerationRequest r;
  r.prompt = prompt_of(prompt_len, seed);
  r.params.temperature = temperature;
  r.params.max_tokens = max_tokens;
  return r;
}

std::vector<GenerationResult> run(std::span<const GenerationRequest> reqs, int blocks = 64,
                                  const model::ModelConfig& config = toy_config(),
                                  const Detokenize& detok = nullptr) {
  ToyBackend backend(blocks, 4, config.vocab_size);
  GeneratorOptions opts;
  opts.max_prefill_tokens_per_step = 16;
  auto r = generate(backend, config, reqs, opts, detok);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
  return r.ok() ? std::move(r).value() : std::vector<GenerationResult>{};
}

TEST(Generator, BatchedEqualsEachAlone) {
  std::vector<GenerationRequest> reqs{request(1, 3, 0, 1), request(5, 20, 0, 2),
                                      request(40, 10, 0, 3), request(17, 1, 0, 4),
                                      request(70, 8, 0, 5)};
  reqs[1].params.temperature = 0.9f;
  reqs[1].params.seed = 99;
  // 30 blocks of 4 tokens: not all requests fit at once, so admission comes in waves.
  const auto batched = run(reqs, 30);
  ASSERT_EQ(batched.size(), reqs.size());
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    const auto alone = run(std::span(&reqs[i], 1));
    ASSERT_EQ(alone.size(), 1u);
    EXPECT_EQ(batched[i].tokens, alone[0].tokens) << "request " << i;
    EXPECT_EQ(batched[i].tokens.size(), static_cast<std::size_t>(reqs[i].params.max_tokens));
    EXPECT_EQ(batched[i].finish, FinishReason::length);
    EXPECT_EQ(batched[i].steps.size(), batched[i].tokens.size());
  }
}

TEST(Generator, SeededSamplingIsReproducible) {
  std::vector<GenerationRequest> reqs{request(9, 30, 1.0f, 1), request(3, 30, 1.0f, 2)};
  const auto a = run(reqs), b = run(reqs);
  EXPECT_EQ(a[0].tokens, b[0].tokens);
  EXPECT_EQ(a[1].tokens, b[1].tokens);
  reqs[0].params.seed = 5;
  const auto c = run(reqs), d = run(reqs);
  EXPECT_EQ(c[0].tokens, d[0].tokens);
  EXPECT_NE(c[0].tokens, a[0].tokens);
}

TEST(Generator, StopTokenIdsAndEos) {
  auto req = request(6, 30);
  const auto free_run = run(std::span(&req, 1))[0].tokens;
  std::size_t k = 3;  // the first output token not seen before index k
  while (std::find(free_run.begin(), free_run.begin() + static_cast<std::ptrdiff_t>(k),
                   free_run[k]) != free_run.begin() + static_cast<std::ptrdiff_t>(k)) {
    ++k;
  }
  req.params.stop_token_ids = {free_run[k]};
  auto r = run(std::span(&req, 1))[0];
  EXPECT_EQ(r.finish, FinishReason::stop_token);
  EXPECT_EQ(r.tokens, std::vector<std::int32_t>(
                          free_run.begin(), free_run.begin() + static_cast<std::ptrdiff_t>(k + 1)));
  req.params.stop_token_ids.clear();
  auto config = toy_config();
  config.eos_token_ids = {free_run[k]};
  r = run(std::span(&req, 1), 64, config)[0];
  EXPECT_EQ(r.finish, FinishReason::stop_token);
  EXPECT_EQ(r.tokens.size(), k + 1);
  req.params.ignore_eos = true;
  r = run(std::span(&req, 1), 64, config)[0];
  EXPECT_EQ(r.finish, FinishReason::length);
  EXPECT_EQ(r.tokens, free_run);
}

TEST(Generator, StopsAtTheContextLimit) {
  auto config = toy_config();
  config.max_position_embeddings = 20;
  auto req = request(15, 100);
  const auto r = run(std::span(&req, 1), 64, config)[0];
  EXPECT_EQ(r.finish, FinishReason::context_full);
  EXPECT_EQ(r.tokens.size(), 5u);
}

std::string letters(std::span<const std::int32_t> ids) {
  std::string s;
  for (auto t : ids)
    s += static_cast<char>('a' + t % 26);
  return s;
}

TEST(Generator, StopStringsCutTheText) {
  auto req = request(4, 20);
  const auto free_run = run(std::span(&req, 1), 64, toy_config(), letters)[0];
  EXPECT_EQ(free_run.text, letters(free_run.tokens));
  const std::string stop = free_run.text.substr(6, 3);
  const auto cut = free_run.text.find(stop);
  req.params.stop_strings = {stop};
  const auto r = run(std::span(&req, 1), 64, toy_config(), letters)[0];
  EXPECT_EQ(r.finish, FinishReason::stop_string);
  EXPECT_EQ(r.text, free_run.text.substr(0, cut));
  EXPECT_EQ(r.tokens.size(), cut + 3);
}

TEST(Generator, Errors) {
  ToyBackend backend(8, 4, 32);
  const auto config = toy_config();
  auto expect_error = [&](GenerationRequest req, ErrorCode code, const char* needle) {
    auto r = generate(backend, config, std::span(&req, 1));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, code);
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  expect_error(request(0, 4), ErrorCode::invalid_argument, "empty prompt");
  auto bad = request(3, 4);
  bad.params.top_p = 2.0f;
  expect_error(bad, ErrorCode::invalid_argument, "top_p");
  expect_error(request(30, 10), ErrorCode::out_of_memory, "needs 40 tokens of KV");
  auto full = request(4096, 1);
  expect_error(full, ErrorCode::invalid_argument, "context");
  auto outside = request(3, 4);
  outside.prompt[1] = 32;
  expect_error(outside, ErrorCode::invalid_argument, "prompt token 1: id 32 is outside");
}

// max_tokens near INT_MAX is capped at the context in 64-bit arithmetic: it neither
// overflows into a negative block count nor asks for more blocks than the context needs.
TEST(Generator, HugeMaxTokensIsCappedAtTheContext) {
  auto config = toy_config();
  config.max_position_embeddings = 24;
  GenerationRequest r = request(3, std::numeric_limits<int>::max());
  r.params.ignore_eos = true;
  auto out = run(std::span(&r, 1), 6, config);  // 6 blocks of 4 = the 24-token context
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].finish, FinishReason::context_full);
  EXPECT_EQ(out[0].tokens.size(), 21u);
}

// A NaN in the logits fails the call, naming the step, instead of sampling garbage.
TEST(Generator, NonFiniteLogitsFailTheRequest) {
  ToyBackend backend(16, 4, 32);
  backend.nan_at_step = 3;  // the prefill, then two decodes
  const auto config = toy_config();
  GenerationRequest r = request(5, 8);
  auto out = generate(backend, config, std::span(&r, 1));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::corrupt);
  EXPECT_NE(out.error().message.find("non-finite logits at step 2 (token 0: nan)"),
            std::string::npos)
      << out.error().message;
}

}  // namespace
}  // namespace agentrt
