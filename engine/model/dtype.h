// Element types a checkpoint tensor may hold, and their conversion to f32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace agentrt::model {

enum class DType { f32, f16, bf16 };

// Size of one element in bytes.
std::size_t dtype_size(DType dtype);
// Safetensors spelling: "F32", "F16", "BF16".
std::string_view dtype_name(DType dtype);
// Parses a safetensors dtype string; nullopt for dtypes this engine does not load
// (the caller reports them by name).
std::optional<DType> parse_dtype(std::string_view name);

float bf16_to_f32(std::uint16_t bits);
float f16_to_f32(std::uint16_t bits);
std::uint16_t f32_to_bf16(float value);  // round to nearest even
std::uint16_t f32_to_f16(float value);   // round to nearest even

// Converts src (count elements of dtype, possibly unaligned) into dst[0..count).
void convert_to_f32(DType dtype, const std::byte* src, std::size_t count, float* dst);

}  // namespace agentrt::model
