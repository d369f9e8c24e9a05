// Every config.json the engine cannot honour fails with a message naming the JSON pointer.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "engine/model/config.h"
#include "engine/model/tiny_model.h"

namespace agentrt::model {
namespace {

using nlohmann::json;

struct RejectCase {
  const char* name;
  Architecture arch;
  std::function<void(json&)> mutate;
  std::vector<std::string> expected;  // substrings of the message
};

const json kLlama3 = {{"rope_type", "llama3"},
                      {"factor", 8.0},
                      {"low_freq_factor", 1.0},
                      {"high_freq_factor", 4.0},
                      {"original_max_position_embeddings", 8192}};

// Architecture, rope, activation and attention-layout rejections.
std::vector<RejectCase> feature_reject_cases() {
  const auto llama = Architecture::llama;
  return {
      {"unknown_arch",
       llama,
       [](json& j) { j["architectures"] = {"GPT2LMHeadModel"}; },
       {"config.json: /architectures/0: 'GPT2LMHeadModel' is not supported",
        "LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, MistralForCausalLM"}},
      {"no_arch", llama, [](json& j) { j.erase("architectures"); }, {"/architectures: missing"}},
      {"arch_not_list", llama, [](json& j) { j["architectures"] = 3; }, {"/architectures:"}},
      {"yarn_v4",
       llama,
       [](json& j) {
         j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
       },
       {"config.json: /rope_scaling/rope_type: 'yarn' is not supported (supported: llama3)"}},
      {"dynamic_legacy_key",
       llama,
       [](json& j) {
         j["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};
       },
       {"/rope_scaling/type: 'dynamic' is not supported"}},
      {"linear_v5",
       llama,
       [](json& j) {
         j["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 2.0}};
       },
       {"/rope_parameters/rope_type: 'linear' is not supported"}},
      {"llama3_missing_factor",
       llama,
       [](json& j) {
         j["rope_scaling"] = kLlama3;
         j["rope_scaling"].erase("factor");
       },
       {"/rope_scaling/factor: missing"}},
      {"llama3_bad_freqs",
       llama,
       [](json& j) {
         j["rope_scaling"] = kLlama3;
         j["rope_scaling"]["high_freq_factor"] = 1.0;
       },
       {"/rope_scaling/high_freq_factor: must be greater"}},
      {"rope_scaling_not_object",
       llama,
       [](json& j) { j["rope_scaling"] = "llama3"; },
       {"/rope_scaling: expected an object"}},
      {"gelu",
       llama,
       [](json& j) { j["hidden_act"] = "gelu"; },
       {"/hidden_act: 'gelu' is not supported (supported: silu)"}},
      {"mlp_bias", llama, [](json& j) { j["mlp_bias"] = true; }, {"/mlp_bias:"}},
      {"qwen2_sliding",
       Architecture::qwen2,
       [](json& j) { j["use_sliding_window"] = true; },
       {"/use_sliding_window:", "sliding"}},
      {"qwen3_sliding",
       Architecture::qwen3,
       [](json& j) { j["use_sliding_window"] = true; },
       {"/use_sliding_window:"}},
      {"layer_types",
       Architecture::qwen3,
       [](json& j) {
         j["layer_types"] = {"full_attention", "sliding_attention"};
       },
       {"/layer_types/1: 'sliding_attention' layers are not supported"}},
  };
}

std::vector<RejectCase> size_reject_cases() {
  const auto llama = Architecture::llama;
  return {
      {"missing_hidden", llama, [](json& j) { j.erase("hidden_size"); }, {"/hidden_size: missing"}},
      {"null_vocab", llama, [](json& j) { j["vocab_size"] = nullptr; }, {"/vocab_size: missing"}},
      {"zero_layers",
       llama,
       [](json& j) { j["num_hidden_layers"] = 0; },
       {"/num_hidden_layers: must be positive"}},
      {"negative_ffn",
       llama,
       [](json& j) { j["intermediate_size"] = -5; },
       {"/intermediate_size: must be positive"}},
      {"string_size",
       llama,
       [](json& j) { j["hidden_size"] = "16"; },
       {"/hidden_size: expected an integer"}},
      {"fractional_size",
       llama,
       [](json& j) { j["hidden_size"] = 16.5; },
       {"/hidden_size: expected an integer"}},
      {"huge_size",
       llama,
       [](json& j) { j["vocab_size"] = 1ll << 40; },
       {"/vocab_size: expected an integer"}},
      {"kv_not_dividing",
       llama,
       [](json& j) { j["num_key_value_heads"] = 3; },
       {"/num_key_value_heads: num_attention_heads 4 is not divisible by num_key_value_heads 3"}},
      {"hidden_not_dividing",
       llama,
       [](json& j) {
         j["num_attention_heads"] = 3;
         j["num_key_value_heads"] = 1;
       },
       {"/hidden_size: hidden_size 16 is not divisible by num_attention_heads 3"}},
      {"zero_head_dim", llama, [](json& j) { j["head_dim"] = 0; }, {"/head_dim: must be positive"}},
      {"bad_eps", llama, [](json& j) { j["rms_norm_eps"] = -1.0; }, {"/rms_norm_eps:"}},
      {"bad_theta", llama, [](json& j) { j["rope_theta"] = "big"; }, {"/rope_theta:"}},
      {"bad_eos",
       llama,
       [](json& j) {
         j["eos_token_id"] = {1, "x"};
       },
       {"/eos_token_id:"}},
      {"bad_tie",
       llama,
       [](json& j) { j["tie_word_embeddings"] = "yes"; },
       {"/tie_word_embeddings: expected true or false"}},
      {"mistral_bad_window",
       Architecture::mistral,
       [](json& j) { j["sliding_window"] = -4; },
       {"/sliding_window: must be positive"}},
  };
}

TEST(ConfigReject, EachUnsupportedFieldNamesItsPointer) {
  std::vector<RejectCase> cases = feature_reject_cases();
  for (RejectCase& rc : size_reject_cases())
    cases.push_back(std::move(rc));
  for (const RejectCase& rc : cases) {
    json j = testing::tiny_config_json(rc.arch);
    rc.mutate(j);
    auto c = parse_config(j.dump(), "config.json");
    ASSERT_FALSE(c.ok()) << rc.name;
    for (const std::string& part : rc.expected) {
      EXPECT_NE(c.error().message.find(part), std::string::npos)
          << rc.name << ": '" << c.error().message << "' lacks '" << part << "'";
    }
  }
}

TEST(ConfigReject, MalformedJson) {
  for (const char* text : {"", "{", "[1,2]", "null", "{\"a\":}", "\xff\xfe"}) {
    auto c = parse_config(text, "config.json");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().message.rfind("config.json: ", 0), 0u) << c.error().message;
  }
}

TEST(ConfigReject, DuplicateKeys) {
  auto c = parse_config(R"({"hidden_size": 16, "rope_scaling": {"factor": 1, "factor": 2},
                            "hidden_size": 32})",
                        "config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("/rope_scaling/factor: duplicate key 'factor'"),
            std::string::npos)
      << c.error().message;
}

TEST(ConfigReject, ErrorCodes) {
  json j = testing::tiny_config_json(Architecture::llama);
  j["rope_scaling"] = {{"rope_type", "yarn"}};
  EXPECT_EQ(parse_config(j.dump(), "config.json").error().code, ErrorCode::unsupported);
  j = testing::tiny_config_json(Architecture::llama);
  j.erase("vocab_size");
  EXPECT_EQ(parse_config(j.dump(), "config.json").error().code, ErrorCode::parse);
}

}  // namespace
}  // namespace agentrt::model
