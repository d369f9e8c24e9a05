// dtype.h: element types and bit-exact conversions between bf16/f16 and f32.
#include "engine/model/dtype.h"

#include <bit>
#include <cstring>

// Safetensors stores little-endian values; convert_to_f32 copies them as they are.
static_assert(std::endian::native == std::endian::little);

namespace agentrt::model {
namespace {

std::uint32_t float_bits(float value) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float bits_float(std::uint32_t bits) {
  float value = 0;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// |x| (f32 bits, sign cleared) below 2^-14 becomes an f16 subnormal (or zero), rounded to even.
std::uint16_t f32_to_f16_subnormal(std::uint32_t x) {
  const std::uint32_t exponent = x >> 23;
  if (exponent < 102) return 0;  // below 2^-25: rounds to zero (2^-25 itself ties to even 0)
  const std::uint32_t mantissa = (x & 0x7fffffu) | 0x800000u;
  const std::uint32_t shift = 126 - exponent;  // value / 2^-24 == mantissa >> shift
  std::uint32_t q = mantissa >> shift;
  const std::uint32_t rem = mantissa & ((1u << shift) - 1);
  const std::uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;  // may carry into the smallest normal
  return static_cast<std::uint16_t>(q);
}

}  // namespace

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return 4;
    case DType::f16:
      return 2;
    case DType::bf16:
      return 2;
  }
  return 0;
}

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "F32";
    case DType::f16:
      return "F16";
    case DType::bf16:
      return "BF16";
  }
  return "?";
}

std::optional<DType> parse_dtype(std::string_view name) {
  if (name == "F32") return DType::f32;
  if (name == "F16") return DType::f16;
  if (name == "BF16") return DType::bf16;
  return std::nullopt;
}

float bf16_to_f32(std::uint16_t bits) {
  return bits_float(static_cast<std::uint32_t>(bits) << 16);
}

float f16_to_f32(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1fu;
  const std::uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0x1f) return bits_float(sign | 0x7f800000u | (mantissa << 13));  // inf, nan
  if (exponent != 0) return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return bits_float(sign);
  // Subnormal: mantissa * 2^-24, exact in f32.
  const float magnitude = static_cast<float>(mantissa) * bits_float(0x33800000u);
  return sign ? -magnitude : magnitude;
}

std::uint16_t f32_to_bf16(float value) {
  const std::uint32_t bits = float_bits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<std::uint16_t>((bits >> 16) | 0x40u);  // quiet nan, sign kept
  }
  const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

std::uint16_t f32_to_f16(float value) {
  std::uint32_t x = float_bits(value);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x > 0x7f800000u) {  // nan: quiet, keep the top payload bits
    return static_cast<std::uint16_t>(sign | 0x7e00u | ((x >> 13) & 0x3ffu));
  }
  if (x >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520: inf
  if (x < 0x38800000u) return static_cast<std::uint16_t>(sign | f32_to_f16_subnormal(x));
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to even.
  x += 0xc8000fffu + ((x >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | (x >> 13));
}

void convert_to_f32(DType dtype, const std::byte* src, std::size_t count, float* dst) {
  switch (dtype) {
    case DType::f32:
      if (count > 0) std::memcpy(dst, src, count * sizeof(float));
      return;
    case DType::f16:
    case DType::bf16:
      for (std::size_t i = 0; i < count; ++i) {
        std::uint16_t bits = 0;
        std::memcpy(&bits, src + 2 * i, sizeof(bits));
        dst[i] = dtype == DType::f16 ? f16_to_f32(bits) : bf16_to_f32(bits);
      }
      return;
  }
}

}  // namespace agentrt::model
