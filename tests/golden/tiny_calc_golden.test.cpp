// Golden tests for the embedded model models/tiny-calc: agentrt's own tokenizer, chat
// renderer, CPU backend and generator against Hugging Face transformers (float32 on the CPU,
// from the saved bf16 weights), on conversations with tool calls and tool responses.
// Fixture: tests/fixtures/tiny_calc/golden.json, made by models/train/golden.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/chat/chat_template.h"
#include "engine/chat/conversation.h"
#include "engine/chat/tool_call_parser.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/generator.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt {
namespace {

// Stated tolerance: both sides compute in f32 from the same bf16-stored weights; the
// differences come from summation order over 8 layers and prompts of up to ~400 tokens.
constexpr double kMaxAbsError = 5e-5;  // measured: under 1e-5
constexpr double kMaxRelError = 1e-5;  // relative to the row's largest |logit|
constexpr int kBlockSize = 16;

std::string model_dir() {
  return std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
}

const nlohmann::ordered_json& golden() {
  static const nlohmann::ordered_json g = [] {
    std::ifstream in(std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/tiny_calc/golden.json");
    return nlohmann::ordered_json::parse(in);
  }();
  return g;
}

std::vector<std::int32_t> table_for(int tokens) {
  std::vector<std::int32_t> table;
  for (int b = 0; b * kBlockSize < tokens; ++b)
    table.push_back(b);
  return table;
}

class TinyCalcGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto model = model::Model::load(model_dir());
    ASSERT_TRUE(model.ok()) << model.error().to_string();
    model_ = new std::shared_ptr<const model::Model>(*model);
    auto tok = tokenizer::Tokenizer::load_dir(model_dir());
    ASSERT_TRUE(tok.ok()) << tok.error().to_string();
    tokenizer_ = new tokenizer::Tokenizer(*tok);
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tokenizer_;
    model_ = nullptr;
    tokenizer_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(model_, nullptr);
    auto backend = cpu::CpuBackend::create(
        *model_,
        cpu::CpuBackendOptions{.num_blocks = 64, .block_size = kBlockSize, .num_threads = 2});
    ASSERT_TRUE(backend.ok()) << backend.error().to_string();
    backend_ = std::move(*backend);
  }

  // The prompt of one fixture conversation, rendered and tokenized by agentrt.
  std::vector<std::int32_t> prompt_ids(const nlohmann::ordered_json& c, std::string* text) {
    auto conv = chat::parse_conversation(c["messages"], golden()["tools"], c["name"]);
    EXPECT_TRUE(conv.ok()) << conv.error().to_string();
    if (!conv.ok()) return {};
    chat::RenderOptions options;
    options.add_generation_prompt = true;
    options.enable_thinking = false;
    auto rendered = chat::render(chat::Family::chatml_qwen, *conv, options);
    EXPECT_TRUE(rendered.ok()) << rendered.error().to_string();
    if (!rendered.ok()) return {};
    *text = *rendered;
    return tokenizer_->encode(*rendered);
  }

  static std::shared_ptr<const model::Model>* model_;
  static tokenizer::Tokenizer* tokenizer_;
  std::unique_ptr<cpu::CpuBackend> backend_;
};

std::shared_ptr<const model::Model>* TinyCalcGolden::model_ = nullptr;
tokenizer::Tokenizer* TinyCalcGolden::tokenizer_ = nullptr;

TEST_F(TinyCalcGolden, ChatFamilyIsDetectedFromTheTemplate) {
  auto family = chat::detect_family_in_dir(model_dir());
  ASSERT_TRUE(family.ok()) << family.error().to_string();
  EXPECT_EQ(*family, chat::Family::chatml_qwen);
  EXPECT_EQ(tokenizer_->config().eos_token, "<|im_end|>");
  EXPECT_EQ(tokenizer_->eos_id(), tokenizer_->token_to_id("<|im_end|>"));
  ASSERT_GE(golden()["conversations"].size(), 3u);
}

TEST_F(TinyCalcGolden, PromptTextAndIdsMatchTransformers) {
  for (const auto& c : golden()["conversations"]) {
    std::string text;
    auto ids = prompt_ids(c, &text);
    EXPECT_EQ(text, c["text"].get<std::string>()) << c["name"];
    EXPECT_EQ(ids, c["ids"].get<std::vector<std::int32_t>>()) << c["name"];
  }
}

TEST_F(TinyCalcGolden, LogitsMatchTransformers) {
  for (const auto& c : golden()["conversations"]) {
    auto ids = c["ids"].get<std::vector<std::int32_t>>();
    BatchPlan plan;
    plan.seqs.push_back({ids, 0, table_for(static_cast<int>(ids.size())), true});
    Logits out;
    ASSERT_TRUE(backend_->forward(plan, out).ok());
    ASSERT_EQ(out.rows, static_cast<int>(ids.size()));
    double max_abs = 0, max_rel = 0;
    const auto& positions = c["logit_positions"];
    for (std::size_t i = 0; i < positions.size(); ++i) {
      const auto& want = c["logits"][i];
      auto row = out.row(positions[i].get<int>());
      ASSERT_EQ(static_cast<std::size_t>(out.vocab), want.size());
      double scale = 0;
      for (const auto& v : want)
        scale = std::max(scale, std::fabs(v.get<double>()));
      for (std::size_t v = 0; v < want.size(); ++v) {
        double err = std::fabs(row[v] - want[v].get<double>());
        max_abs = std::max(max_abs, err);
        max_rel = std::max(max_rel, err / std::max(scale, 1e-6));
      }
    }
    std::cout << "[golden] tiny-calc " << c["name"].get<std::string>() << " (" << ids.size()
              << " tokens, " << positions.size() << " rows): max abs error " << max_abs
              << ", max rel error " << max_rel << "\n";
    EXPECT_LE(max_abs, kMaxAbsError) << c["name"];
    EXPECT_LE(max_rel, kMaxRelError) << c["name"];
  }
}

TEST_F(TinyCalcGolden, GreedyContinuationMatchesTokenForToken) {
  std::vector<GenerationRequest> reqs;
  for (const auto& c : golden()["conversations"]) {
    GenerationRequest req;
    std::string text;
    req.prompt = prompt_ids(c, &text);  // agentrt's own ids (equal to HF's, tested above)
    req.params.temperature = 0;
    req.params.ignore_eos = true;
    req.params.max_tokens = static_cast<int>(c["greedy"]["tokens"].size());
    ASSERT_GE(req.params.max_tokens, 32) << c["name"];
    reqs.push_back(req);
  }
  auto result = generate(*backend_, (*model_)->config(), reqs);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  std::size_t i = 0;
  for (const auto& c : golden()["conversations"]) {
    EXPECT_EQ((*result)[i].tokens, c["greedy"]["tokens"].get<std::vector<std::int32_t>>())
        << c["name"];
    ++i;
  }
}

TEST_F(TinyCalcGolden, GreedyReplyDecodesAndParsesLikeTransformers) {
  const auto im_end = tokenizer_->token_to_id("<|im_end|>");
  ASSERT_TRUE(im_end.has_value());
  for (const auto& c : golden()["conversations"]) {
    auto tokens = c["greedy"]["tokens"].get<std::vector<std::int32_t>>();
    auto end = std::find(tokens.begin(), tokens.end(), *im_end);
    ASSERT_NE(end, tokens.end()) << c["name"] << ": the reply must end within the fixture";
    std::vector<std::int32_t> reply(tokens.begin(), end);
    auto text = tokenizer_->decode(reply);
    ASSERT_TRUE(text.ok()) << text.error().to_string();
    EXPECT_EQ(*text, c["reply"]["text"].get<std::string>()) << c["name"];
    auto parsed = chat::parse_reply(chat::Family::chatml_qwen, *text);
    ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
    const auto& want = c["reply"]["tool_calls"];
    ASSERT_EQ(parsed->tool_calls.size(), want.size()) << c["name"];
    for (std::size_t k = 0; k < want.size(); ++k) {
      EXPECT_EQ(parsed->tool_calls[k].name, want[k]["name"].get<std::string>());
      EXPECT_EQ(parsed->tool_calls[k].arguments.dump(), want[k]["arguments"].dump());
    }
  }
}

}  // namespace
}  // namespace agentrt
