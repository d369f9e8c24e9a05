#include "engine/model/config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/model/tiny_model.h"

namespace agentrt::model {
namespace {

using nlohmann::json;
using testing::tiny_config_json;

ModelConfig parse_ok(const json& j) {
  auto c = parse_config(j.dump(), "config.json");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().to_string());
  return c.ok() ? *c : ModelConfig{};
}

TEST(Config, LlamaGqaWithDefaults) {
  const ModelConfig c = parse_ok(tiny_config_json(Architecture::llama));
  EXPECT_EQ(c.arch, Architecture::llama);
  EXPECT_EQ(c.vocab_size, 32);
  EXPECT_EQ(c.hidden_size, 16);
  EXPECT_EQ(c.intermediate_size, 24);
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 4);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::none);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{2});
  EXPECT_EQ(c.torch_dtype, "float32");
  EXPECT_EQ(c.max_context(), 128);
}

TEST(Config, KvHeadsDefaultToHeads) {
  json j = tiny_config_json(Architecture::llama);
  j.erase("num_key_value_heads");
  EXPECT_EQ(parse_ok(j).num_kv_heads, 4);
  j["num_key_value_heads"] = nullptr;
  EXPECT_EQ(parse_ok(j).num_kv_heads, 4);
}

TEST(Config, LlamaAttentionBiasCoversOutput) {
  json j = tiny_config_json(Architecture::llama);
  j["attention_bias"] = true;
  const ModelConfig c = parse_ok(j);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_TRUE(c.attention_out_bias);
}

TEST(Config, Qwen2AlwaysHasQkvBias) {
  json j = tiny_config_json(Architecture::qwen2);
  j["tie_word_embeddings"] = true;
  j["use_sliding_window"] = false;
  j["sliding_window"] = 4096;  // ignored while use_sliding_window is false
  j["eos_token_id"] = json::array({151643, 151645});
  const ModelConfig c = parse_ok(j);
  EXPECT_EQ(c.arch, Architecture::qwen2);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.attention_out_bias);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.sliding_window, 0);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int>{151643, 151645}));
}

TEST(Config, Qwen3QkNormAndHeadDimOverride) {
  json j = tiny_config_json(Architecture::qwen3);
  j["head_dim"] = 8;  // 4 heads * 8 != hidden 16
  const ModelConfig c = parse_ok(j);
  EXPECT_EQ(c.arch, Architecture::qwen3);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.head_dim, 8);
  j["attention_bias"] = true;
  EXPECT_TRUE(parse_ok(j).attention_out_bias);
}

TEST(Config, MistralSlidingWindowCapsContext) {
  json j = tiny_config_json(Architecture::mistral);
  j["sliding_window"] = 64;
  const ModelConfig c = parse_ok(j);
  EXPECT_EQ(c.arch, Architecture::mistral);
  EXPECT_EQ(c.sliding_window, 64);
  EXPECT_EQ(c.max_context(), 64);
  j["sliding_window"] = 4096;
  EXPECT_EQ(parse_ok(j).max_context(), 128);
  j["sliding_window"] = nullptr;
  EXPECT_EQ(parse_ok(j).sliding_window, 0);
}

TEST(Config, Llama3RopeScalingV4Spelling) {
  json j = tiny_config_json(Architecture::llama);
  j["rope_theta"] = 500000.0;
  j["rope_scaling"] = {{"rope_type", "llama3"},
                       {"factor", 8.0},
                       {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  const ModelConfig c = parse_ok(j);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::llama3);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  j["rope_scaling"].erase("rope_type");
  j["rope_scaling"]["type"] = "llama3";  // legacy key
  EXPECT_EQ(parse_ok(j).rope_scaling.type, RopeScaling::Type::llama3);
}

TEST(Config, V5RopeParametersAndDtype) {
  json j = tiny_config_json(Architecture::llama);
  j.erase("rope_theta");
  j.erase("torch_dtype");
  j["dtype"] = "bfloat16";
  j["rope_parameters"] = {{"rope_type", "llama3"},   {"rope_theta", 500000.0},
                          {"factor", 32.0},          {"low_freq_factor", 1.0},
                          {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  const ModelConfig c = parse_ok(j);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScaling::Type::llama3);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1000000.0}};
  const ModelConfig d = parse_ok(j);
  EXPECT_DOUBLE_EQ(d.rope_theta, 1000000.0);
  EXPECT_EQ(d.rope_scaling.type, RopeScaling::Type::none);
}

TEST(Config, DefaultAndNullRopeMeanNone) {
  json j = tiny_config_json(Architecture::qwen2);
  j["rope_scaling"] = nullptr;
  EXPECT_EQ(parse_ok(j).rope_scaling.type, RopeScaling::Type::none);
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_EQ(parse_ok(j).rope_scaling.type, RopeScaling::Type::none);
}

TEST(Config, NullBosAndListOrMissingEos) {
  json j = tiny_config_json(Architecture::llama);
  j["bos_token_id"] = nullptr;
  j["eos_token_id"] = json::array({128001, 128008, 128009});
  const ModelConfig c = parse_ok(j);
  EXPECT_EQ(c.bos_token_id, -1);
  EXPECT_EQ(c.eos_token_ids.size(), 3u);
  j.erase("eos_token_id");
  EXPECT_TRUE(parse_ok(j).eos_token_ids.empty());
}

TEST(Config, ModelTypeFallbackWhenArchitecturesAbsent) {
  json j = tiny_config_json(Architecture::qwen3);
  j.erase("architectures");
  j["model_type"] = "qwen3";
  EXPECT_EQ(parse_ok(j).arch, Architecture::qwen3);
}

TEST(Config, CanonicalJsonIsSortedAndStable) {
  const ModelConfig a = parse_ok(tiny_config_json(Architecture::llama));
  json reordered = json::parse(tiny_config_json(Architecture::llama).dump());
  const ModelConfig b = parse_ok(reordered);
  EXPECT_EQ(a.canonical_json(), b.canonical_json());
  const json parsed = json::parse(a.canonical_json());
  EXPECT_EQ(parsed["arch"], "LlamaForCausalLM");
  EXPECT_EQ(parsed["num_kv_heads"], 2);
  EXPECT_EQ(parsed["sliding_window"], 0);
  EXPECT_LT(a.canonical_json().find("\"arch\""), a.canonical_json().find("\"vocab_size\""));
  json changed = tiny_config_json(Architecture::llama);
  changed["rope_theta"] = 20000.0;
  EXPECT_NE(parse_ok(changed).canonical_json(), a.canonical_json());
}

TEST(Config, LoadConfigReadsTheDirectory) {
  testing::TempDir dir;
  auto missing = load_config(dir.path());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find("config.json"), std::string::npos);
  ASSERT_TRUE(
      write_text_file(dir.path() / "config.json", tiny_config_json(Architecture::mistral).dump())
          .ok());
  auto c = load_config(dir.path());
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->arch, Architecture::mistral);
}

}  // namespace
}  // namespace agentrt::model
