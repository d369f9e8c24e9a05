// Model fingerprints pinned to known values: models/tiny-calc and a small synthetic
// checkpoint whose bytes are fixed patterns (no library random distributions).
#include "engine/model/fingerprint.h"

#include <gtest/gtest.h>

#include "engine/model/model.h"
#include "engine/model/tiny_model.h"

namespace agentrt::model {
namespace {

// PINNED VALUES. The fingerprint enters every KV block key, so persisted KV is found by it
// across versions: if what is hashed or how it is serialised changes, every stored block
// silently becomes a miss. A change here must be deliberate, with a new tag in
// compute_fingerprint ("agentrt-model-fingerprint-v1") and a bump of
// storage::kKvBlockFormatVersion, which the store records and checks on open.
constexpr const char* kTinyCalc = "83520e9793427114718b53971993bdc5";
constexpr const char* kSynthetic = "f045858d863f9fa562cabe578cda06a7";

constexpr const char* kSyntheticConfig = R"({
  "architectures": ["LlamaForCausalLM"],
  "vocab_size": 32, "hidden_size": 16, "intermediate_size": 24,
  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
  "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
  "hidden_act": "silu", "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2
})";

TensorData patterned(const std::string& name, DType dtype, std::vector<std::int64_t> shape,
                     std::size_t bytes, unsigned mul) {
  std::string b(bytes, '\0');
  for (std::size_t i = 0; i < bytes; ++i)
    b[i] = static_cast<char>((i * mul + 17) & 0xff);
  return TensorData{name, dtype, std::move(shape), std::move(b)};
}

TEST(Fingerprint, TinyCalcIsPinned) {
  auto m = Model::load(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ((*m)->fingerprint(), kTinyCalc);
}

TEST(Fingerprint, SyntheticCheckpointIsPinned) {
  testing::TempDir dir;
  // A 32 KiB tensor (head and tail sampled), a small bf16 one and an f16 one, unsorted.
  const std::vector<TensorData> tensors{
      patterned("model.norm.weight", DType::f32, {8192}, 8192 * 4, 7),
      patterned("model.embed_tokens.weight", DType::bf16, {32, 16}, 32 * 16 * 2, 13),
      patterned("lm_head.weight", DType::f16, {4, 16}, 4 * 16 * 2, 29),
  };
  ASSERT_TRUE(write_safetensors(dir.path() / "model.safetensors", tensors).ok());
  auto config = parse_config(kSyntheticConfig, "config.json");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  auto cp = Checkpoint::open(dir.path());
  ASSERT_TRUE(cp.ok()) << cp.error().to_string();
  EXPECT_EQ(compute_fingerprint(*config, *cp), kSynthetic);
}

}  // namespace
}  // namespace agentrt::model
