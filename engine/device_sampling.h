// DeviceSampling: how one logits row is sampled on a device (sampling::Sampler's temperature,
// top-k, top-p and min-p; penalties stay on the host), and what comes back. Shared by the
// Backend contract (engine/backend.h) and the CUDA sampling kernel (kernels/sampling.h), so it
// stays plain C++17 with no engine dependencies.
#pragma once

#include <cstdint>
#include <functional>

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
  // Structured output: the index of this row's mask in the DeviceTokenMasks passed beside
  // the params; tokens outside it are never drawn. -1: no mask.
  std::int32_t mask = -1;
};

// The token masks of a step's constrained rows, in host memory: `count` masks of
// `words_per_row` 64-bit words each, back to back; bit t of a mask (word t / 64, bit t % 64)
// is set when token t may be drawn. Backends copy them to the device themselves. When
// `fill` is set, the backend calls it once after queuing the step's forward pass and before
// reading `words`, so the host computes the masks while the device runs the step.
struct DeviceTokenMasks {
  const std::uint64_t* words = nullptr;
  std::int32_t words_per_row = 0;
  std::int32_t count = 0;
  std::function<void()> fill;
};

struct DeviceSample {
  std::int32_t token = 0;
  float logprob = 0.0f;
};

}  // namespace agentrt
