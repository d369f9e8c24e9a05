// Model::load end to end: config + checkpoint + bind_weights + fingerprint.
#include "engine/model/model.h"

#include <gtest/gtest.h>

#include "engine/model/fingerprint.h"
#include "engine/model/tiny_model.h"

namespace agentrt::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::TempDir;

ModelConfig config_of(const json& j) {
  auto c = parse_config(j.dump(), "config.json");
  EXPECT_TRUE(c.ok());
  return c.ok() ? *c : ModelConfig{};
}

Result<std::shared_ptr<const Model>> load(const fs::path& dir, const json& config,
                                          const std::vector<TensorData>& tensors) {
  const Status written = testing::write_model_dir(dir, config, tensors);
  if (!written.ok()) return written.error();
  return Model::load(dir);
}

void expect_load_error(const json& config, const std::vector<TensorData>& tensors,
                       std::vector<std::string> parts) {
  TempDir dir;
  auto m = load(dir.path(), config, tensors);
  ASSERT_FALSE(m.ok()) << parts.front();
  for (const std::string& part : parts) {
    EXPECT_NE(m.error().message.find(part), std::string::npos)
        << "'" << m.error().message << "' lacks '" << part << "'";
  }
}

TEST(Model, LoadsEveryArchitecture) {
  for (Architecture arch :
       {Architecture::llama, Architecture::qwen2, Architecture::qwen3, Architecture::mistral}) {
    json j = testing::tiny_config_json(arch);
    if (arch == Architecture::qwen3) j["head_dim"] = 8;
    const ModelConfig c = config_of(j);
    TempDir dir;
    auto m = load(dir.path(), j, testing::tiny_tensors(c, DType::bf16));
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    const ModelWeights& w = (*m)->weights();
    ASSERT_EQ(w.layers.size(), 2u);
    EXPECT_EQ(w.embed->name, "model.embed_tokens.weight");
    EXPECT_EQ(w.lm_head->name, "lm_head.weight");
    EXPECT_EQ(w.final_norm->shape, (std::vector<std::int64_t>{16}));
    EXPECT_EQ(w.layers[1].w_down->name, "model.layers.1.mlp.down_proj.weight");
    EXPECT_EQ(w.layers[0].bq != nullptr, arch == Architecture::qwen2);
    EXPECT_EQ(w.layers[0].bo, nullptr);
    EXPECT_EQ(w.layers[0].q_norm != nullptr, arch == Architecture::qwen3);
    if (arch == Architecture::qwen3) {
      EXPECT_EQ(w.layers[0].wq->shape, (std::vector<std::int64_t>{32, 16}));
      EXPECT_EQ(w.layers[0].k_norm->shape, (std::vector<std::int64_t>{8}));
    }
    EXPECT_EQ((*m)->fingerprint().size(), 32u);
  }
}

TEST(Model, TiedEmbeddings) {
  json j = testing::tiny_config_json(Architecture::qwen2);
  j["tie_word_embeddings"] = true;
  std::vector<TensorData> tensors = testing::tiny_tensors(config_of(j), DType::f16);
  {
    TempDir dir;
    auto m = load(dir.path(), j, tensors);
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    EXPECT_EQ((*m)->weights().lm_head, (*m)->weights().embed);
  }
  // A tied checkpoint that stores lm_head.weight anyway uses it.
  tensors.push_back(testing::random_tensor("lm_head.weight", {32, 16}, DType::f16, 77));
  TempDir dir;
  auto m = load(dir.path(), j, tensors);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ((*m)->weights().lm_head->name, "lm_head.weight");
}

TEST(Model, AttentionBiasBindsOutputBias) {
  json j = testing::tiny_config_json(Architecture::llama);
  j["attention_bias"] = true;
  TempDir dir;
  auto m = load(dir.path(), j, testing::tiny_tensors(config_of(j)));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ((*m)->weights().layers[1].bo->name, "model.layers.1.self_attn.o_proj.bias");
}

TEST(Model, ShardedLoad) {
  json j = testing::tiny_config_json(Architecture::llama);
  const auto tensors = testing::tiny_tensors(config_of(j), DType::bf16);
  TempDir dir;
  ASSERT_TRUE(testing::write_sharded_model_dir(dir.path(), j, tensors, 3).ok());
  auto m = Model::load(dir.path());
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ((*m)->checkpoint().tensors().size(), tensors.size());
  EXPECT_EQ((*m)->weights().layers[0].wq->file, "model-00003-of-00003.safetensors");
}

TEST(Model, MissingTensor) {
  json j = testing::tiny_config_json(Architecture::llama);
  auto tensors = testing::tiny_tensors(config_of(j));
  std::erase_if(tensors, [](const TensorData& t) {
    return t.name == "model.layers.0.self_attn.k_proj.weight";
  });
  expect_load_error(j, tensors,
                    {"model.safetensors: missing tensor 'model.layers.0.self_attn.k_proj.weight'",
                     "agentrt-model-"});
}

// A layer count far beyond the checkpoint (config.json is untrusted) is a missing tensor,
// not a reservation of billions of layers.
TEST(Model, LayerCountBeyondTheCheckpointIsAMissingTensor) {
  json j = testing::tiny_config_json(Architecture::llama);
  auto tensors = testing::tiny_tensors(config_of(j));
  j["num_hidden_layers"] = 2000000000;
  expect_load_error(j, tensors, {"missing tensor 'model.layers.2.input_layernorm.weight'"});
}

TEST(Model, MissingLmHeadWhenUntied) {
  json j = testing::tiny_config_json(Architecture::mistral);
  auto tensors = testing::tiny_tensors(config_of(j));
  std::erase_if(tensors, [](const TensorData& t) { return t.name == "lm_head.weight"; });
  expect_load_error(j, tensors, {"missing tensor 'lm_head.weight'"});
}

TEST(Model, WrongShape) {
  json j = testing::tiny_config_json(Architecture::llama);
  auto tensors = testing::tiny_tensors(config_of(j));
  for (TensorData& t : tensors) {
    if (t.name == "model.layers.1.mlp.up_proj.weight") {
      t = testing::random_tensor(t.name, {12, 8}, DType::f32, 5);
    }
  }
  expect_load_error(j, tensors,
                    {"model.safetensors: tensor 'model.layers.1.mlp.up_proj.weight': shape "
                     "[12, 8] does not match the config's [24, 16]"});
}

TEST(Model, UnsupportedArchitectureAndConfigErrorsNameTheDir) {
  json j = testing::tiny_config_json(Architecture::llama);
  const auto tensors = testing::tiny_tensors(config_of(j));
  j["architectures"] = {"PhiForCausalLM"};
  expect_load_error(j, tensors,
                    {"config.json: /architectures/0: 'PhiForCausalLM'", "agentrt-model-"});
}

TEST(Model, UnsupportedDtypeInCheckpoint) {
  json j = testing::tiny_config_json(Architecture::llama);
  TempDir dir;
  ASSERT_TRUE(write_text_file(dir.path() / "config.json", j.dump()).ok());
  ASSERT_TRUE(write_text_file(dir.path() / "model.safetensors",
                              frame_safetensors(R"({"model.embed_tokens.weight": {"dtype": "I64",
                                  "shape": [32, 16], "data_offsets": [0, 4096]}})",
                                                std::string(4096, '\0')))
                  .ok());
  auto m = Model::load(dir.path());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::unsupported);
  EXPECT_NE(m.error().message.find("tensor 'model.embed_tokens.weight': dtype 'I64' is not "
                                   "supported"),
            std::string::npos)
      << m.error().message;
}

TEST(Fingerprint, StableAndSensitive) {
  json j = testing::tiny_config_json(Architecture::llama);
  auto tensors = testing::tiny_tensors(config_of(j), DType::f16);
  TempDir a, b;
  auto first = load(a.path(), j, tensors);
  ASSERT_TRUE(first.ok());
  auto again = Model::load(a.path());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*first)->fingerprint(), (*again)->fingerprint());
  const std::string& fp = (*first)->fingerprint();
  EXPECT_EQ(fp.find_first_not_of("0123456789abcdef"), std::string::npos);
  // Same content in another directory: same fingerprint.
  auto copy = load(b.path(), j, tensors);
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ((*copy)->fingerprint(), fp);
  // One weight byte changes it.
  tensors[3].bytes[7] = static_cast<char>(tensors[3].bytes[7] ^ 1);
  TempDir c;
  auto byte_changed = load(c.path(), j, tensors);
  ASSERT_TRUE(byte_changed.ok());
  EXPECT_NE((*byte_changed)->fingerprint(), fp);
  tensors[3].bytes[7] = static_cast<char>(tensors[3].bytes[7] ^ 1);
  // A config change changes it.
  j["rms_norm_eps"] = 1e-6;
  TempDir d;
  auto config_changed = load(d.path(), j, tensors);
  ASSERT_TRUE(config_changed.ok());
  EXPECT_NE((*config_changed)->fingerprint(), fp);
}

TEST(Fingerprint, SamplesHeadAndTailOfLargeTensors) {
  TempDir dir;
  const TensorData big = testing::random_tensor("big", {8192}, DType::f32, 3);  // 32 KiB
  ASSERT_TRUE(write_safetensors(dir.path() / "model.safetensors", {big}).ok());
  auto cp = Checkpoint::open(dir.path());
  ASSERT_TRUE(cp.ok());
  const ModelConfig config;
  const std::string base = compute_fingerprint(config, *cp);
  EXPECT_EQ(compute_fingerprint(config, *cp), base);
  for (std::size_t at :
       {std::size_t{0}, std::size_t{4095}, big.bytes.size() - 1, big.bytes.size() / 2}) {
    TensorData changed = big;
    changed.bytes[at] = static_cast<char>(changed.bytes[at] ^ 0x10);
    TempDir other;
    ASSERT_TRUE(write_safetensors(other.path() / "model.safetensors", {changed}).ok());
    auto cp2 = Checkpoint::open(other.path());
    ASSERT_TRUE(cp2.ok());
    // The middle of a large tensor is not sampled, by design.
    EXPECT_EQ(compute_fingerprint(config, *cp2) == base, at == big.bytes.size() / 2) << at;
  }
}

}  // namespace
}  // namespace agentrt::model
