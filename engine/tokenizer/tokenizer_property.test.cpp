// Property and robustness tests on the real tokenizers: round trips of random UTF-8,
// random id sequences (decode never crashes; streaming equals whole decode), randomized
// mutations of tokenizer.json files (load fails cleanly or works; never crashes), and a
// throughput print for comparison with the HF baseline in fixtures/*.bench.json.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <random>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_test_util.h"

namespace agentrt::tokenizer {
namespace {

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Random valid UTF-8 drawn from ASCII, whitespace, Latin, combining marks, CJK, emoji.
std::string random_utf8(std::mt19937& rng) {
  static const std::pair<char32_t, char32_t> ranges[] = {
      {0x20, 0x7E},     {0x09, 0x0D},       {0xC0, 0x24F},    {0x300, 0x36F},     {0x4E00, 0x4E80},
      {0xAC00, 0xAC40}, {0x1F300, 0x1F64F}, {0x200D, 0x200D}, {0x10000, 0x10FFFF}};
  std::string s;
  const int n = static_cast<int>(rng() % 40);
  for (int i = 0; i < n; ++i) {
    const auto& [lo, hi] = ranges[rng() % std::size(ranges)];
    char32_t cp = lo + static_cast<char32_t>(rng() % (hi - lo + 1));
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
    append_utf8(s, cp);
  }
  return s;
}

TEST(TokenizerProperty, RandomUtf8RoundTrips) {
  std::mt19937 rng(42);
  for (const char* name : {"qwen3", "llama3_1"}) {
    const Tokenizer* tok = test::real_tokenizer(name);
    ASSERT_NE(tok, nullptr);
    const bool nfc = std::string(name) == "qwen3";
    for (int i = 0; i < 2000; ++i) {
      const std::string s = random_utf8(rng);
      const auto ids = tok->encode(s);
      auto back = tok->decode(ids);
      ASSERT_TRUE(back.ok());
      // Qwen normalizes to NFC first, so compare with a second pass there.
      if (nfc) {
        EXPECT_EQ(tok->encode(*back), ids) << s;
      } else {
        EXPECT_EQ(*back, s);
      }
    }
  }
}

TEST(TokenizerProperty, RandomIdsDecodeAndStreamAgree) {
  std::mt19937 rng(7);
  for (const char* name : {"qwen3", "llama3_1"}) {
    const Tokenizer* tok = test::real_tokenizer(name);
    ASSERT_NE(tok, nullptr);
    for (int i = 0; i < 2000; ++i) {
      std::vector<std::int32_t> ids(1 + rng() % 16);
      for (auto& id : ids)
        id = static_cast<std::int32_t>(rng() % static_cast<unsigned>(tok->vocab_size()));
      const bool skip = rng() % 2 == 0;
      auto whole = tok->decode(ids, skip);
      ASSERT_TRUE(whole.ok());
      IncrementalDecoder dec(*tok, skip);
      std::string streamed;
      for (std::int32_t id : ids)
        streamed += dec.push(id).value();
      streamed += dec.finish();
      EXPECT_EQ(streamed, *whole);
    }
    const std::int32_t bad[] = {tok->vocab_size(), -5};
    EXPECT_FALSE(tok->decode(bad).ok());
  }
}

TEST(TokenizerProperty, RandomBytesEncodeLosslessly) {
  std::mt19937 rng(3);
  const Tokenizer* tok = test::real_tokenizer("llama3_1");
  ASSERT_NE(tok, nullptr);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 24, '\0');
    for (char& c : bytes)
      c = static_cast<char>(rng() % 256);
    std::string raw;
    ASSERT_TRUE(tok->decode_bytes(tok->encode(bytes), false, raw).ok());
    EXPECT_EQ(raw, bytes);
  }
}

// Loads a small but real-shaped tokenizer.json (the Qwen3 one with its vocab cut down) and
// mutates it at random: every load must end in a value or an error.
TEST(TokenizerFuzz, MutatedTokenizerJsonNeverCrashes) {
  const std::string path = test::tokenizers_dir() + "/qwen3/tokenizer.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " missing: run scripts/fetch_tokenizers.sh";
  nlohmann::json j = nlohmann::json::parse(in);
  nlohmann::json small_vocab = nlohmann::json::object();
  for (const auto& [k, v] : j["model"]["vocab"].items())
    if (v.get<int>() < 400) small_vocab[k] = v;
  j["model"]["vocab"] = small_vocab;
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& m : j["model"]["merges"]) {
    if (merges.size() >= 140) break;
    merges.push_back(m);
  }
  j["model"]["merges"] = merges;
  const std::string base = j.dump();
  ASSERT_TRUE(Tokenizer::from_json(base, "small.json").ok());
  std::mt19937 rng(11);
  const std::string junk = "{}[]\":,0123456789 ntrufalse\\Ġ";
  int loaded = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::string text = base;
    for (int e = 0; e < 1 + static_cast<int>(rng() % 3); ++e) {
      const std::size_t pos = rng() % text.size();
      if (rng() % 2) {
        text[pos] = junk[rng() % junk.size()];
      } else {
        text.erase(pos, 1 + rng() % 4);
      }
    }
    auto tok = Tokenizer::from_json(text, "mutated.json");
    if (!tok.ok()) {
      EXPECT_EQ(tok.error().message.rfind("mutated.json: ", 0), 0u) << tok.error().message;
      continue;
    }
    ++loaded;
    const auto ids = tok->encode("Hello <|im_start|> wörld 123 \n\n");
    (void)tok->decode(ids);
  }
  EXPECT_GT(loaded, 0);
}

// The same on the SentencePiece-style fuzz seeds (normalizers, Metaspace, byte_fallback,
// piece decoder); streaming must also keep equal to decode.
TEST(TokenizerFuzz, MutatedPieceTokenizerJsonNeverCrashes) {
  std::mt19937 rng(5);
  const std::string junk = "{}[]\":,0123456789 ntrufalse\\\u2581<>";
  for (const char* seed : {"llama2_style_small", "gemma3_style_small", "metaspace_style_small"}) {
    const std::string path =
        std::string(AGENTRT_SOURCE_DIR) + "/tests/fuzz/corpus/tokenizer_json/" + seed + ".json";
    std::ifstream in(path);
    ASSERT_TRUE(in) << path;
    const std::string base((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_TRUE(Tokenizer::from_json(base, "seed.json").ok()) << seed;
    int loaded = 0;
    for (int iter = 0; iter < 500; ++iter) {
      std::string text = base;
      for (int e = 0; e < 1 + static_cast<int>(rng() % 3); ++e) {
        const std::size_t pos = rng() % text.size();
        if (rng() % 2) {
          text[pos] = junk[rng() % junk.size()];
        } else {
          text.erase(pos, 1 + rng() % 4);
        }
      }
      auto tok = Tokenizer::from_json(text, "mutated.json");
      if (!tok.ok()) {
        EXPECT_EQ(tok.error().message.rfind("mutated.json: ", 0), 0u) << tok.error().message;
        continue;
      }
      ++loaded;
      const auto ids = tok->encode("  Hello<s> wörld 😀 \xff\n\n", true);
      const auto decoded = tok->decode(ids);
      IncrementalDecoder stream(*tok);
      std::string streamed;
      for (std::int32_t id : ids)
        streamed += stream.push(id).value();
      streamed += stream.finish();
      if (decoded.ok()) {
        EXPECT_EQ(streamed, *decoded) << seed << " iteration " << iter;
      }
    }
    EXPECT_GT(loaded, 0) << seed;
  }
}

TEST(TokenizerBench, CorpusThroughput) {
  const std::string path = std::string(AGENTRT_SOURCE_DIR) + "/tests/tokenizer/corpus.jsonl";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::vector<std::string> lines;
  std::size_t bytes = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    lines.push_back(nlohmann::json::parse(line).get<std::string>());
    bytes += lines.back().size();
  }
  for (const char* name : {"qwen3", "llama3_1"}) {
    const Tokenizer* tok = test::real_tokenizer(name);
    ASSERT_NE(tok, nullptr);
    double best = 1e9;
    for (int run = 0; run < 20; ++run) {
      const auto t0 = std::chrono::steady_clock::now();
      std::size_t n = 0;
      for (const auto& l : lines)
        n += tok->encode(l).size();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::min(best, s);
      ASSERT_GT(n, 0u);
    }
    std::printf("[ bench    ] %s: single-thread encode loop %.2f MB/s (%zu bytes, best of 20)\n",
                name, static_cast<double>(bytes) / best / 1e6, bytes);
  }
}

}  // namespace
}  // namespace agentrt::tokenizer
