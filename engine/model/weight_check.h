// Finite-weight checks at load: a NaN or infinity in a checkpoint tensor would make every
// forward step produce garbage without any error, so Model::load refuses such a checkpoint,
// naming the tensor and the element.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/common/result.h"
#include "engine/model/checkpoint.h"

namespace agentrt::model {

enum class WeightCheck {
  none,    // trust the checkpoint
  sample,  // tensors of at most kWeightCheckWholeElements elements (norms, biases) whole, and
           // kWeightCheckSamples evenly strided elements of each larger tensor (the default)
  full,    // every element of every tensor (reads the whole checkpoint once)
};

inline constexpr std::int64_t kWeightCheckWholeElements = std::int64_t{1} << 16;
inline constexpr std::int64_t kWeightCheckSamples = 4096;

// "none", "sample", "full".
std::string_view to_string(WeightCheck mode);
// The inverse of to_string. Errors: invalid_argument naming the accepted names.
[[nodiscard]] Result<WeightCheck> parse_weight_check(std::string_view name);

// Checks one tensor's elements (f32, f16 or bf16, read bit by bit: no conversion) under
// `mode`. Errors (corrupt): "model.safetensors: tensor 'model.norm.weight': element 5 is NaN".
[[nodiscard]] Status check_finite(const TensorView& tensor, WeightCheck mode);

// check_finite over every tensor of the checkpoint; the first failure is returned.
[[nodiscard]] Status check_finite_weights(const Checkpoint& checkpoint, WeightCheck mode);

}  // namespace agentrt::model
