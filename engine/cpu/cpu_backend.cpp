#include "engine/cpu/cpu_backend.h"

#include <cblas.h>

#include <cstdio>
#include <string>

#include "engine/cpu/blas_core.h"
#include "engine/kv_pool_limits.h"

namespace agentrt::cpu {

CpuBackend::CpuBackend(const model::ModelConfig& config, CpuWeights weights,
                       const KvGeometry& geometry, int num_threads)
    : config_(config),
      weights_(std::move(weights)),
      kv_(geometry),
      rope_(config),
      pool_(std::make_unique<ThreadPool>(num_threads)) {}

namespace {

// Every option, and the pool's size against its memory limit, before anything is allocated.
Status check_options(const model::ModelConfig& config, const CpuBackendOptions& options) {
  if (options.block_size <= 0) {
    return make_error(ErrorCode::invalid_argument,
                      "CpuBackendOptions: block_size must be positive, got " +
                          std::to_string(options.block_size));
  }
  if (options.num_threads < 0 || options.num_threads > kMaxCpuThreads) {
    return make_error(ErrorCode::invalid_argument,
                      "CpuBackendOptions: num_threads " + std::to_string(options.num_threads) +
                          " is outside [0, " + std::to_string(kMaxCpuThreads) +
                          "] (0 = all cores)");
  }
  KvGeometry geo;
  geo.block_size = options.block_size;
  geo.num_layers = config.num_layers;
  geo.num_kv_heads = config.num_kv_heads;
  geo.head_dim = config.head_dim;
  const bool explicit_limit = options.max_kv_bytes > 0;
  return check_kv_pool("CpuBackendOptions", options.num_blocks, geo.block_bytes(sizeof(float)),
                       explicit_limit ? options.max_kv_bytes : default_host_kv_limit_bytes(),
                       explicit_limit ? "CpuBackendOptions::max_kv_bytes" : "half of physical RAM");
}

// The f32 copy of the weights must fit in physical RAM: a model too large for the machine
// is an error naming the sizes, not a bad_alloc halfway through the conversion.
Status check_weights_fit(const model::ModelConfig& config, const model::ModelWeights& weights) {
  const bool tied = weights.lm_head == weights.embed ||
                    (weights.lm_head == nullptr && config.tie_word_embeddings);
  const double need = CpuWeights::f32_bytes(config, tied);
  const auto ram = static_cast<double>(physical_memory_bytes());
  if (ram == 0 || need <= ram) return ok_status();
  char text[128];
  std::snprintf(text, sizeof(text), "%.4g GB as f32, more than the %.4g GB of physical RAM",
                need / 1e9, ram / 1e9);
  return make_error(ErrorCode::out_of_memory, std::string("CpuBackend: the weights take ") + text);
}

}  // namespace

Result<std::unique_ptr<CpuBackend>> CpuBackend::create(std::shared_ptr<const model::Model> model,
                                                       CpuBackendOptions options) {
  if (!model) return make_error(ErrorCode::invalid_argument, "CpuBackend::create: null model");
  return create(model->config(), model->weights(), options);
}

Result<std::unique_ptr<CpuBackend>> CpuBackend::create(const model::ModelConfig& config,
                                                       const model::ModelWeights& weights,
                                                       CpuBackendOptions options) {
  AGENTRT_TRY(check_options(config, options));
  AGENTRT_TRY(check_weights_fit(config, weights));
  auto converted = CpuWeights::convert(config, weights);
  if (!converted.ok()) return converted.error();
  KvGeometry geo;
  geo.num_blocks = options.num_blocks;
  geo.block_size = options.block_size;
  geo.num_layers = config.num_layers;
  geo.num_kv_heads = config.num_kv_heads;
  geo.head_dim = config.head_dim;
  ensure_blas_core();
  openblas_set_num_threads(1);
  return std::unique_ptr<CpuBackend>(
      new CpuBackend(config, std::move(converted).value(), geo, options.num_threads));
}

Status CpuBackend::copy_blocks(std::span<const std::pair<std::int32_t, std::int32_t>> pairs) {
  const int n = kv_.geometry().num_blocks;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto [src, dst] = pairs[i];
    if (src < 0 || src >= n || dst < 0 || dst >= n) {
      return make_error(ErrorCode::invalid_argument, "copy_blocks: pair " + std::to_string(i) +
                                                         " (" + std::to_string(src) + ", " +
                                                         std::to_string(dst) + ") is outside [0, " +
                                                         std::to_string(n) + ")");
    }
  }
  for (const auto& [src, dst] : pairs)
    kv_.copy_block(src, dst);
  return ok_status();
}

std::size_t CpuBackend::streamed_matrix_bytes() const {
  auto bytes = [](const WeightMatrix& w) {
    return w.f32.size() * sizeof(float) + w.bf16.size() * sizeof(std::uint16_t);
  };
  std::size_t total = bytes(weights_.lm_head_matrix());
  for (const auto& l : weights_.layers)
    total += bytes(l.wqkv) + bytes(l.wo) + bytes(l.w_gate_up) + bytes(l.w_down);
  return total;
}

std::size_t CpuBackend::block_bytes() const {
  return kv_.geometry().block_bytes(sizeof(float));
}

Status CpuBackend::check_block_io(const char* what, std::int32_t id, std::size_t size) const {
  return agentrt::check_block_io(what, id, size, kv_.geometry().num_blocks, block_bytes());
}

std::string CpuBackend::kv_layout() const {
  return "cpu f32 [layer][K|V][slot][kv_head][head_dim] block_size " +
         std::to_string(kv_.geometry().block_size);
}

Status CpuBackend::read_block(std::int32_t id, std::span<std::byte> out) {
  AGENTRT_TRY(check_block_io("read_block", id, out.size()));
  kv_.read_block(id, out);
  return ok_status();
}

Status CpuBackend::write_block(std::int32_t id, std::span<const std::byte> in) {
  AGENTRT_TRY(check_block_io("write_block", id, in.size()));
  kv_.write_block(id, in);
  return ok_status();
}

Status CpuBackend::check_plan(const BatchPlan& plan) const {
  const auto& geo = kv_.geometry();
  return check_batch_plan(plan, geo.num_blocks, geo.block_size, config_.vocab_size,
                          config_.max_context());
}

}  // namespace agentrt::cpu
