// NaN and infinity in checkpoint weights: found at load (sampled by default, every element
// on request), named by file, tensor and element.
#include "engine/model/weight_check.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>

#include "engine/model/model.h"
#include "engine/model/tiny_model.h"

namespace agentrt::model {
namespace {

using testing::TempDir;

// Overwrites element i of t with the bit pattern of `value` in t's dtype.
void plant(TensorData& t, std::int64_t i, float value) {
  const auto at = static_cast<std::size_t>(i) * dtype_size(t.dtype);
  if (t.dtype == DType::f32) {
    std::memcpy(t.bytes.data() + at, &value, sizeof(value));
    return;
  }
  const std::uint16_t h = t.dtype == DType::bf16 ? f32_to_bf16(value) : f32_to_f16(value);
  std::memcpy(t.bytes.data() + at, &h, sizeof(h));
}

TensorView view_of(const TensorData& t) {
  return {t.name, "model.safetensors", t.dtype, t.shape,
          std::as_bytes(std::span(t.bytes.data(), t.bytes.size()))};
}

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(WeightCheck, FindsNanAndInfInEveryDtype) {
  for (DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    auto t = testing::random_tensor("model.norm.weight", {64}, dtype, 3);
    EXPECT_TRUE(check_finite(view_of(t), WeightCheck::sample).ok());
    plant(t, 17, kNan);
    auto st = check_finite(view_of(t), WeightCheck::sample);
    ASSERT_FALSE(st.ok()) << dtype_name(dtype);
    EXPECT_EQ(st.error().code, ErrorCode::corrupt);
    EXPECT_EQ(st.error().message,
              "model.safetensors: tensor 'model.norm.weight': element 17 is NaN");
    plant(t, 17, 0.25f);
    plant(t, 63, -kInf);
    st = check_finite(view_of(t), WeightCheck::sample);
    ASSERT_FALSE(st.ok()) << dtype_name(dtype);
    EXPECT_NE(st.error().message.find("element 63 is infinite"), std::string::npos);
    EXPECT_TRUE(check_finite(view_of(t), WeightCheck::none).ok());
  }
}

// A large tensor is sampled by default; a NaN between samples needs the full check.
TEST(WeightCheck, SampleStridesLargeTensorsAndFullReadsAll) {
  const std::int64_t rows = 512, cols = 256;  // 131072 elements: sampled every 32
  auto t = testing::random_tensor("model.embed_tokens.weight", {rows, cols}, DType::bf16, 5);
  plant(t, 33, kNan);  // not a sample point
  EXPECT_TRUE(check_finite(view_of(t), WeightCheck::sample).ok());
  auto st = check_finite(view_of(t), WeightCheck::full);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("element 33 is NaN"), std::string::npos);
  plant(t, 33, 0.0f);
  plant(t, 64, kInf);  // sample point 2
  st = check_finite(view_of(t), WeightCheck::sample);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("element 64 is infinite"), std::string::npos);
  plant(t, 64, 0.0f);
  plant(t, rows * cols - 1, kNan);  // the last element is always checked
  EXPECT_FALSE(check_finite(view_of(t), WeightCheck::sample).ok());
}

// Model::load refuses a checkpoint with a NaN in a norm, naming the directory and tensor;
// a NaN hidden between samples of a projection is found with WeightCheck::full.
TEST(WeightCheck, ModelLoadRefusesNonFiniteWeights) {
  const auto config = testing::tiny_config_json(Architecture::qwen2);
  auto c = parse_config(config.dump(), "config.json");
  ASSERT_TRUE(c.ok());
  auto tensors = testing::tiny_tensors(*c, DType::bf16);
  for (auto& t : tensors) {
    if (t.name == "model.layers.1.post_attention_layernorm.weight") plant(t, 3, kNan);
  }
  TempDir dir;
  ASSERT_TRUE(testing::write_model_dir(dir.path(), config, tensors).ok());
  auto m = Model::load(dir.path());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::corrupt);
  EXPECT_NE(m.error().message.find(dir.path().string() + ": model.safetensors: tensor "
                                                         "'model.layers.1.post_attention_"
                                                         "layernorm.weight': element 3 is NaN"),
            std::string::npos)
      << m.error().message;
  EXPECT_TRUE(Model::load(dir.path(), {WeightCheck::none}).ok());

  // A tensor over kWeightCheckWholeElements with a NaN off the sample grid.
  auto big = testing::random_tensor("model.layers.0.mlp.extra", {1024, 128}, DType::bf16, 9);
  plant(big, 5, kNan);
  tensors = testing::tiny_tensors(*c, DType::bf16);
  tensors.push_back(big);
  TempDir dir2;
  ASSERT_TRUE(testing::write_model_dir(dir2.path(), config, tensors).ok());
  EXPECT_TRUE(Model::load(dir2.path()).ok());
  auto full = Model::load(dir2.path(), {WeightCheck::full});
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().message.find("tensor 'model.layers.0.mlp.extra': element 5 is NaN"),
            std::string::npos)
      << full.error().message;
}

}  // namespace
}  // namespace agentrt::model
