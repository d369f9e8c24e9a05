// Randomized robustness tests: mutated safetensors files and config.json texts must never
// crash the parsers, and whatever they accept must satisfy the documented invariants.
// Deterministic seeds, so a failure reproduces; ~25k inputs, a few seconds under ASan.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/model/config.h"
#include "engine/model/safetensors.h"
#include "engine/model/safetensors_writer.h"
#include "engine/model/tiny_model.h"

namespace agentrt::model {
namespace {

using Rng = std::mt19937_64;

const std::vector<std::string> kTokens = {"-1",
                                          "0",
                                          "1",
                                          "1.5",
                                          "1e300",
                                          "18446744073709551615",
                                          "18446744073709551616",
                                          "9223372036854775807",
                                          "null",
                                          "true",
                                          "\"\"",
                                          "\"I64\"",
                                          "\"F16\"",
                                          "\"BF16\"",
                                          "\"F32\"",
                                          "[",
                                          "]",
                                          "{",
                                          "}",
                                          ",",
                                          ":",
                                          "\"data_offsets\"",
                                          "\"shape\"",
                                          "\"dtype\"",
                                          "\"__metadata__\"",
                                          "[0, 0]",
                                          "[]",
                                          "{}",
                                          "\"\\u0000\"",
                                          "\xff",
                                          "\"a\": 1,",
                                          "\"llama3\"",
                                          "\"yarn\"",
                                          "\"rope_scaling\"",
                                          "\"head_dim\"",
                                          "\"sliding_attention\""};

std::size_t pick(Rng& rng, std::size_t n) {
  return n == 0 ? 0 : rng() % n;
}

// Replaces a random span of text with a dictionary token (or deletes/duplicates a span).
std::string splice(Rng& rng, std::string text) {
  const std::size_t at = pick(rng, text.size() + 1);
  const std::size_t len = std::min(text.size() - at, pick(rng, 12));
  switch (rng() % 3) {
    case 0:
      return text.replace(at, len, kTokens[pick(rng, kTokens.size())]);
    case 1:
      return text.erase(at, len);
    default:
      return text.insert(at, text.substr(at, len));
  }
}

std::string flip_bits(Rng& rng, std::string s) {
  const int flips = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < flips && !s.empty(); ++i)
    s[pick(rng, s.size())] ^= char(1u << (rng() % 8));
  return s;
}

// The header text as framed (clamped to the file, since mutations chain).
std::string header_text(const std::string& file) {
  if (file.size() < 8) return {};
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | static_cast<unsigned char>(file[i]);
  return file.substr(8, std::min<std::uint64_t>(n, file.size() - 8));
}

std::string mutate_file(Rng& rng, const std::string& seed) {
  std::string data = seed.substr(std::min(seed.size(), 8 + header_text(seed).size()));
  switch (rng() % 6) {
    case 0:
      return flip_bits(rng, seed);
    case 1:
      return seed.substr(0, pick(rng, seed.size() + 1));
    case 2: {  // random or nearly right length prefix
      std::string s = seed;
      std::uint64_t n = rng() % 2 ? rng() : header_text(seed).size() + (rng() % 33) - 16;
      if (rng() % 4 == 0) n = seed.size() - 8 - (rng() % 4);
      s.resize(std::max<std::size_t>(s.size(), 8));
      for (int i = 0; i < 8; ++i)
        s[i] = static_cast<char>(n >> (8 * i));
      return s;
    }
    case 3: {  // spliced JSON, several times, reframed with the right length
      std::string h = header_text(seed);
      for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n; ++i)
        h = splice(rng, h);
      return frame_safetensors(h, data);
    }
    case 4:
      return testing::random_bytes(pick(rng, 300), static_cast<std::uint32_t>(rng()));
    default: {  // data section shortened or extended
      const std::string h = header_text(seed);
      if (rng() % 2) return frame_safetensors(h, data.substr(0, pick(rng, data.size() + 1)));
      return frame_safetensors(h, data + std::string(pick(rng, 64), 'x'));
    }
  }
}

void check_invariants(const SafetensorsHeader& h, std::size_t file_size) {
  ASSERT_LE(h.data_offset, file_size);
  const std::uint64_t data_size = file_size - h.data_offset;
  std::set<std::string> names;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const TensorInfo& t : h.tensors) {
    ASSERT_TRUE(names.insert(t.name).second) << t.name;
    ASSERT_LE(t.begin, t.end);
    ASSERT_LE(t.end, data_size);
    for (std::int64_t d : t.shape)
      ASSERT_GE(d, 0);
    ASSERT_EQ(static_cast<std::uint64_t>(t.numel()) * dtype_size(t.dtype), t.end - t.begin);
    if (t.end > t.begin) ranges.emplace_back(t.begin, t.end);
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i)
    ASSERT_LE(ranges[i - 1].second, ranges[i].first);
}

std::vector<std::string> safetensors_seeds() {
  ModelConfig c;
  c.vocab_size = 8, c.hidden_size = 4, c.intermediate_size = 6, c.num_layers = 1;
  c.num_heads = 2, c.num_kv_heads = 1, c.head_dim = 2, c.attention_bias = true, c.qk_norm = true;
  std::vector<std::string> seeds;
  for (DType d : {DType::f32, DType::bf16}) {
    auto image = encode_safetensors(testing::tiny_tensors(c, d), {{"format", "pt"}});
    if (image.ok()) seeds.push_back(*image);
  }
  seeds.push_back(frame_safetensors("{}", ""));
  seeds.push_back(frame_safetensors(
      R"({"e": {"dtype": "F16", "shape": [0], "data_offsets": [0, 0]},
          "s": {"dtype": "BF16", "shape": [], "data_offsets": [0, 2]}})",
      "ab"));
  return seeds;
}

TEST(SafetensorsFuzz, MutatedFilesNeverCrash) {
  const std::vector<std::string> seeds = safetensors_seeds();
  ASSERT_GE(seeds.size(), 4u);
  Rng rng(20240601);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string file = seeds[pick(rng, seeds.size())];
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k)
      file = mutate_file(rng, file);
    // Exact-size heap copy, so ASan catches any read past the end.
    std::vector<std::byte> bytes(file.size());
    if (!file.empty()) std::memcpy(bytes.data(), file.data(), file.size());
    auto h = parse_safetensors_header(bytes, "fuzz.safetensors");
    if (h.ok()) {
      ++accepted;
      check_invariants(*h, bytes.size());
      if (::testing::Test::HasFatalFailure()) FAIL() << "input #" << i;
    } else {
      ASSERT_EQ(h.error().message.rfind("fuzz.safetensors: ", 0), 0u) << h.error().message;
    }
  }
  EXPECT_GT(accepted, 100);  // the mutations must not all be trivially rejected
}

TEST(ConfigFuzz, MutatedConfigsNeverCrash) {
  std::vector<std::string> seeds;
  for (Architecture a :
       {Architecture::llama, Architecture::qwen2, Architecture::qwen3, Architecture::mistral}) {
    nlohmann::json j = testing::tiny_config_json(a);
    seeds.push_back(j.dump());
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", 8.0},
                         {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 64}};
    seeds.push_back(j.dump());
  }
  Rng rng(77);
  int accepted = 0;
  for (int i = 0; i < 6000; ++i) {
    std::string text = seeds[pick(rng, seeds.size())];
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k) {
      text = rng() % 4 == 0 ? flip_bits(rng, text) : splice(rng, text);
    }
    auto c = parse_config(text, "config.json");
    if (!c.ok()) {
      ASSERT_EQ(c.error().message.rfind("config.json: ", 0), 0u) << c.error().message;
      continue;
    }
    ++accepted;
    ASSERT_GT(c->vocab_size, 0);
    ASSERT_GT(c->head_dim, 0);
    ASSERT_GT(c->num_kv_heads, 0);
    ASSERT_EQ(c->num_heads % c->num_kv_heads, 0);
    ASSERT_GT(c->max_context(), 0);
    ASSERT_FALSE(c->canonical_json().empty());
  }
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace agentrt::model
