// The device sampler alone (kernels/sampling.h): launch_sample over `rows` rows of a
// 151,936-token vocabulary (Qwen2.5's), random logits drawn flat (N(0, 1)) or peaked
// (N(0, 4)), for greedy, temperature, top-p, top-k, top-k with top-p and min-p rows;
// microseconds a call, mean of 20 after one warm-up.
//
//   cuda_sampling_bench [--rows 32,256] [--vocab 151936]
#include <cuda_runtime.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels/device_buffer.h"
#include "kernels/sampling.h"

namespace agentrt::bench {
namespace {

struct Mode {
  const char* name;
  float temperature;
  int top_k;
  float top_p;
  float min_p;
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "cuda_sampling_bench: %s\n", what.c_str());
  std::exit(1);
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail(std::string(what) + ": " + cudaGetErrorString(e));
}

int run(const std::vector<int>& all_rows, int vocab) {
  const Mode modes[] = {
      {"greedy", 0.0f, 0, 1.0f, 0.0f},      {"temperature 0.8", 0.8f, 0, 1.0f, 0.0f},
      {"top-p 0.95", 0.8f, 0, 0.95f, 0.0f}, {"top-p 0.5", 0.8f, 0, 0.5f, 0.0f},
      {"top-k 50", 0.8f, 50, 1.0f, 0.0f},   {"top-k 50, top-p 0.9", 0.8f, 50, 0.9f, 0.0f},
      {"min-p 0.05", 0.8f, 0, 1.0f, 0.05f}};
  std::printf("| rows | logits | mode | us a call |\n| ---: | --- | --- | ---: |\n");
  for (const int rows : all_rows) {
    for (const bool peaked : {false, true}) {
      std::vector<float> host(static_cast<std::size_t>(rows) * static_cast<std::size_t>(vocab));
      std::mt19937 gen(1);
      std::normal_distribution<float> normal(0.0f, peaked ? 4.0f : 1.0f);
      for (float& x : host)
        x = normal(gen);
      kernels::DeviceBuffer logits, tokens, params;
      if (!logits.allocate(host.size() * sizeof(float)).ok() ||
          !tokens.allocate(static_cast<std::size_t>(rows) * sizeof(std::int32_t)).ok() ||
          !params.allocate(static_cast<std::size_t>(rows) * sizeof(kernels::SampleParams)).ok())
        fail("device memory");
      check(cudaMemcpy(logits.get(), host.data(), host.size() * sizeof(float),
                       cudaMemcpyHostToDevice),
            "upload");
      for (const Mode& m : modes) {
        std::vector<kernels::SampleParams> p(static_cast<std::size_t>(rows));
        for (int r = 0; r < rows; ++r) {
          auto& q = p[static_cast<std::size_t>(r)];
          q.temperature = m.temperature;
          q.top_k = m.top_k;
          q.top_p = m.top_p;
          q.min_p = m.min_p;
          q.seed = static_cast<std::uint64_t>(r);
          q.step = 3;
        }
        check(cudaMemcpy(params.get(), p.data(), p.size() * sizeof(p[0]), cudaMemcpyHostToDevice),
              "params");
        auto sample = [&] {
          check(kernels::launch_sample(logits.get<float>(), rows, vocab,
                                       params.get<kernels::SampleParams>(),
                                       tokens.get<std::int32_t>(), nullptr, nullptr),
                "launch_sample");
        };
        sample();
        cudaEvent_t start = nullptr, stop = nullptr;
        check(cudaEventCreate(&start), "event");
        check(cudaEventCreate(&stop), "event");
        constexpr int kCalls = 20;
        check(cudaEventRecord(start), "event");
        for (int i = 0; i < kCalls; ++i)
          sample();
        check(cudaEventRecord(stop), "event");
        check(cudaEventSynchronize(stop), "sample");
        float ms = 0;
        check(cudaEventElapsedTime(&ms, start, stop), "event");
        cudaEventDestroy(start);
        cudaEventDestroy(stop);
        std::printf("| %d | %s | %s | %.1f |\n", rows, peaked ? "peaked" : "flat", m.name,
                    ms * 1000.0f / kCalls);
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  CLI::App app("the device sampler alone: microseconds a call by mode");
  std::vector<int> rows{32, 256};
  int vocab = 151936;
  app.add_option("--rows", rows, "rows a call")->delimiter(',')->check(CLI::Range(1, 4096));
  app.add_option("--vocab", vocab, "vocabulary")->check(CLI::Range(1, 1 << 20));
  CLI11_PARSE(app, argc, argv);
  return agentrt::bench::run(rows, vocab);
}
