// DeviceSampling: how one logits row is sampled on a device (sampling::Sampler's temperature,
// top-k, top-p and min-p; penalties stay on the host), and what comes back. Shared by the
// Backend contract (engine/backend.h) and the CUDA sampling kernel (kernels/sampling.h), so it
// stays plain C++17 with no engine dependencies.
#pragma once

#include <cstdint>

namespace agentrt {

struct DeviceSampling {
  // 0 = greedy. Producers pass 0 for every temperature below sampling::kGreedyTemperature
  // (SamplingParams::greedy), so the device and Sampler agree on which rows are greedy.
  float temperature = 0.0f;
  std::int32_t top_k = 0;  // 0 = off
  float top_p = 1.0f;      // 1 = off
  float min_p = 0.0f;      // 0 = off
  std::uint64_t seed = 0;
  std::uint64_t step = 0;  // index of this draw in the sequence (its position): (seed, step)
                           // fixes the draw
};

struct DeviceSample {
  std::int32_t token = 0;
  float logprob = 0.0f;
};

}  // namespace agentrt
