// Tests against the real Qwen3 and Llama-3.1 tokenizer files (scripts/fetch_tokenizers.sh).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_test_util.h"

namespace agentrt::tokenizer {
namespace {

using test::real_tokenizer;

TEST(RealTokenizer, QwenHelloWorld) {
  const Tokenizer* tok = real_tokenizer("qwen3");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->encode("Hello world"), (std::vector<std::int32_t>{9707, 1879}));
  EXPECT_EQ(tok->encode("Hello world", true), (std::vector<std::int32_t>{9707, 1879}));
  EXPECT_EQ(tok->encode("<|im_start|>user\nhi<|im_end|>"),
            (std::vector<std::int32_t>{151644, 872, 198, 6023, 151645}));
  EXPECT_EQ(tok->eos_id(), 151645);
  EXPECT_EQ(tok->bos_id(), std::nullopt);
  EXPECT_EQ(tok->vocab_size(), 151669);
}

TEST(RealTokenizer, LlamaHelloWorld) {
  const Tokenizer* tok = real_tokenizer("llama3_1");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->encode("Hello world"), (std::vector<std::int32_t>{9906, 1917}));
  EXPECT_EQ(tok->encode("Hello world", true), (std::vector<std::int32_t>{128000, 9906, 1917}));
  EXPECT_EQ(tok->bos_id(), 128000);
  EXPECT_EQ(tok->eos_id(), 128009);
  EXPECT_EQ(tok->vocab_size(), 128256);
}

TEST(RealTokenizer, NfcMattersForQwenOnly) {
  const Tokenizer* qwen = real_tokenizer("qwen3");
  const Tokenizer* llama = real_tokenizer("llama3_1");
  ASSERT_NE(qwen, nullptr);
  ASSERT_NE(llama, nullptr);
  EXPECT_EQ(qwen->encode("caf\u00e9"), qwen->encode("cafe\u0301"));
  EXPECT_NE(llama->encode("caf\u00e9"), llama->encode("cafe\u0301"));
}

TEST(RealTokenizer, DecodeRoundTripAndSkipSpecial) {
  for (const char* name : {"qwen3", "llama3_1"}) {
    const Tokenizer* tok = real_tokenizer(name);
    ASSERT_NE(tok, nullptr);
    const std::string text = "Hi there 👋 你好 <|im_end|> x";
    auto ids = tok->encode(text, true);
    auto back = tok->decode(ids);
    ASSERT_TRUE(back.ok());
    if (std::string(name) == "llama3_1") {
      EXPECT_EQ(*back, "<|begin_of_text|>" + text);
      EXPECT_EQ(*tok->decode(ids, true), text);
    } else {
      EXPECT_EQ(*back, text);
      EXPECT_EQ(*tok->decode(ids, true), "Hi there 👋 你好  x");
    }
  }
}

TEST(RealTokenizer, UnknownIdIsAnError) {
  const Tokenizer* tok = real_tokenizer("qwen3");
  ASSERT_NE(tok, nullptr);
  const std::int32_t bad[] = {1, 999999};
  auto r = tok->decode(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
  EXPECT_NE(r.error().message.find("999999"), std::string::npos);
  EXPECT_FALSE(tok->id_to_token(-1).ok());
}

TEST(RealTokenizer, StreamingNeverSplitsCharacters) {
  const Tokenizer* tok = real_tokenizer("qwen3");
  ASSERT_NE(tok, nullptr);
  const std::string text = "emoji 👨‍👩‍👧‍👦 and 日本語 and é";
  auto ids = tok->encode(text);
  IncrementalDecoder dec(*tok);
  std::string streamed;
  for (std::int32_t id : ids) {
    auto piece = dec.push(id);
    ASSERT_TRUE(piece.ok());
    EXPECT_EQ(piece->find("\xEF\xBF\xBD"), std::string::npos);  // never a U+FFFD mid-stream
    streamed += *piece;
  }
  streamed += dec.finish();
  EXPECT_EQ(streamed, text);
}

}  // namespace
}  // namespace agentrt::tokenizer
