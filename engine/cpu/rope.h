// Rotary position embedding as Hugging Face applies it to Llama-family models: the
// "rotate_half" (NeoX) layout, frequencies and angles computed in f32, llama3 scaling.
#pragma once

#include <vector>

#include "engine/model/config.h"

namespace agentrt::cpu {

// inv_freq[i] for i in [0, head_dim/2), adjusted for rope_scaling like HF
// `_compute_default_rope_parameters` / `_compute_llama3_parameters`.
std::vector<float> rope_inv_freq(const model::ModelConfig& config);

class Rope {
 public:
  explicit Rope(const model::ModelConfig& config);

  int half_dim() const { return static_cast<int>(inv_freq_.size()); }
  // cos and sin of position * inv_freq[i], each half_dim() floats.
  void angles(int position, float* cos, float* sin) const;
  // Rotates one head vector x[0, 2*half_dim) in place.
  void apply(float* x, const float* cos, const float* sin) const;

 private:
  std::vector<float> inv_freq_;
};

}  // namespace agentrt::cpu
