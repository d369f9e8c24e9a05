#include "engine/model/weight_check.h"

#include <cstring>
#include <string>

namespace agentrt::model {
namespace {

enum class Bad { none, nan, inf };

// Classifies element i of a tensor from its bits: exponent all ones is NaN or infinity.
Bad classify(DType dtype, const std::byte* data, std::int64_t i) {
  const auto at = static_cast<std::size_t>(i) * dtype_size(dtype);
  if (dtype == DType::f32) {
    std::uint32_t b = 0;
    std::memcpy(&b, data + at, sizeof(b));
    if ((b & 0x7f800000u) != 0x7f800000u) return Bad::none;
    return (b & 0x007fffffu) != 0 ? Bad::nan : Bad::inf;
  }
  std::uint16_t h = 0;
  std::memcpy(&h, data + at, sizeof(h));
  const std::uint16_t exp = dtype == DType::bf16 ? 0x7f80u : 0x7c00u;
  const std::uint16_t man = dtype == DType::bf16 ? 0x007fu : 0x03ffu;
  if ((h & exp) != exp) return Bad::none;
  return (h & man) != 0 ? Bad::nan : Bad::inf;
}

Status report(const TensorView& t, std::int64_t i, Bad bad) {
  return make_error(ErrorCode::corrupt, t.file + ": tensor '" + t.name + "': element " +
                                            std::to_string(i) + " is " +
                                            (bad == Bad::nan ? "NaN" : "infinite"));
}

}  // namespace

Result<WeightCheck> parse_weight_check(std::string_view name) {
  for (auto mode : {WeightCheck::none, WeightCheck::sample, WeightCheck::full})
    if (name == to_string(mode)) return mode;
  return make_error(ErrorCode::invalid_argument, "weight check: expected none, sample or full");
}

std::string_view to_string(WeightCheck mode) {
  switch (mode) {
    case WeightCheck::none:
      return "none";
    case WeightCheck::sample:
      return "sample";
    case WeightCheck::full:
      return "full";
  }
  return "unknown";
}

Status check_finite(const TensorView& tensor, WeightCheck mode) {
  if (mode == WeightCheck::none) return ok_status();
  const std::int64_t n = tensor.numel();
  if (n <= 0 || tensor.data.size() < static_cast<std::size_t>(n) * dtype_size(tensor.dtype)) {
    return ok_status();  // sizes are the checkpoint's to check, and it has
  }
  const std::byte* data = tensor.data.data();
  const bool whole = mode == WeightCheck::full || n <= kWeightCheckWholeElements;
  // Strided sample: element k * n / samples for k in [0, samples), then the last one.
  const std::int64_t count = whole ? n : kWeightCheckSamples;
  for (std::int64_t k = 0; k < count; ++k) {
    // k * n / samples without overflow: n = q * samples + r.
    const std::int64_t q = n / kWeightCheckSamples, r = n % kWeightCheckSamples;
    const std::int64_t i = whole ? k : k * q + k * r / kWeightCheckSamples;
    if (const Bad b = classify(tensor.dtype, data, i); b != Bad::none) return report(tensor, i, b);
  }
  if (const Bad b = classify(tensor.dtype, data, n - 1); b != Bad::none) {
    return report(tensor, n - 1, b);
  }
  return ok_status();
}

Status check_finite_weights(const Checkpoint& checkpoint, WeightCheck mode) {
  if (mode == WeightCheck::none) return ok_status();
  for (const TensorView* t : checkpoint.tensors()) {
    AGENTRT_TRY(check_finite(*t, mode));
  }
  return ok_status();
}

}  // namespace agentrt::model
