#include "engine/cpu/rope.h"

#include <cmath>
#include <numbers>

namespace agentrt::cpu {

std::vector<float> rope_inv_freq(const model::ModelConfig& config) {
  const int dim = config.head_dim;
  const auto base = static_cast<float>(config.rope_theta);
  std::vector<float> inv(static_cast<std::size_t>(dim / 2));
  for (int i = 0; i < dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    inv[static_cast<std::size_t>(i)] = 1.0f / std::pow(base, exponent);
  }
  const auto& s = config.rope_scaling;
  if (s.type != model::RopeScaling::Type::llama3) return inv;
  const auto factor = static_cast<float>(s.factor);
  const auto low = static_cast<float>(s.low_freq_factor);
  const auto high = static_cast<float>(s.high_freq_factor);
  const auto orig = static_cast<float>(s.original_max_position_embeddings);
  const float low_freq_wavelen = orig / low;
  const float high_freq_wavelen = orig / high;
  for (float& f : inv) {
    const float wavelen = 2.0f * std::numbers::pi_v<float> / f;
    if (wavelen > low_freq_wavelen) {
      f = f / factor;
    } else if (!(wavelen < high_freq_wavelen)) {
      const float smooth = (orig / wavelen - low) / (high - low);
      f = (1.0f - smooth) * f / factor + smooth * f;
    }
  }
  return inv;
}

Rope::Rope(const model::ModelConfig& config) : inv_freq_(rope_inv_freq(config)) {}

void Rope::angles(int position, float* cos, float* sin) const {
  const auto p = static_cast<float>(position);
  for (std::size_t i = 0; i < inv_freq_.size(); ++i) {
    const float a = p * inv_freq_[i];
    cos[i] = std::cos(a);
    sin[i] = std::sin(a);
  }
}

void Rope::apply(float* x, const float* cos, const float* sin) const {
  const std::size_t half = inv_freq_.size();
  for (std::size_t i = 0; i < half; ++i) {
    const float a = x[i], b = x[i + half];
    x[i] = a * cos[i] - b * sin[i];
    x[i + half] = b * cos[i] + a * sin[i];
  }
}

}  // namespace agentrt::cpu
