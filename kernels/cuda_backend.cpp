// CudaBackend: creation, plan checks and block movement (copy, read, write).
#include "kernels/cuda_backend.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>

#include "engine/cpu/cpu_weights.h"
#include "engine/kv_pool_limits.h"

namespace agentrt::kernels {
namespace {

Status check_options(const model::ModelConfig& c, const CudaBackendOptions& o) {
  if (o.num_blocks <= 0 || o.block_size <= 0) {
    return make_error(ErrorCode::invalid_argument,
                      "CudaBackendOptions: num_blocks and block_size must be positive, got " +
                          std::to_string(o.num_blocks) + " and " + std::to_string(o.block_size));
  }
  // Bounds the pool's block count before cudaMalloc (device memory is the allocation's check).
  AGENTRT_TRY(check_kv_block_count("CudaBackendOptions", o.num_blocks));
  AGENTRT_TRY(cpu::check_cpu_config(c));
  if (c.head_dim > 256) {
    return make_error(ErrorCode::unsupported,
                      "cuda backend: head_dim " + std::to_string(c.head_dim) + " is over 256");
  }
  if (c.hidden_size > 8192) {
    return make_error(ErrorCode::unsupported, "cuda backend: hidden_size " +
                                                  std::to_string(c.hidden_size) + " is over 8192");
  }
  return ok_status();
}

}  // namespace

CudaBackend::CudaBackend(const model::ModelConfig& config, const CudaBackendOptions& options)
    : config_(config),
      options_(options),
      dtype_(options.dtype),
      seg_cache_(options.segment_device_bytes) {
  geo_.num_blocks = options.num_blocks;
  geo_.block_size = options.block_size;
  geo_.num_layers = config.num_layers;
  geo_.num_kv_heads = config.num_kv_heads;
  geo_.head_dim = config.head_dim;
}

CudaBackend::~CudaBackend() {
  if (stream_) cudaStreamSynchronize(stream_);
  drop_graphs();
  if (io_stream_) cudaStreamSynchronize(io_stream_);
  for (const auto& r : host_registered_)
    cudaHostUnregister(r.first);
  if (meta_copied_) cudaEventDestroy(meta_copied_);
  if (compute_done_) cudaEventDestroy(compute_done_);
  if (io_done_) cudaEventDestroy(io_done_);
  for (cudaEvent_t e : sampled_ready_)
    if (e) cudaEventDestroy(e);
  if (stream_) cudaStreamDestroy(stream_);
  if (io_stream_) cudaStreamDestroy(io_stream_);
  if (io_write_stream_) cudaStreamSynchronize(io_write_stream_);
  for (cudaEvent_t e : swap_events_)
    cudaEventDestroy(e);
  if (io_write_stream_) cudaStreamDestroy(io_write_stream_);
}

Status CudaBackend::init_device() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    return make_error(ErrorCode::unsupported,
                      std::string("cuda backend: no CUDA device (") +
                          (err == cudaSuccess ? "none found" : cudaGetErrorString(err)) + ")");
  }
  if (options_.device < 0 || options_.device >= count) {
    return make_error(
        ErrorCode::invalid_argument,
        "cuda backend: device " + std::to_string(options_.device) + " of " + std::to_string(count));
  }
  AGENTRT_CUDA_TRY(cudaSetDevice(options_.device));
  AGENTRT_CUDA_TRY(
      cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, options_.device));
  AGENTRT_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  AGENTRT_CUDA_TRY(cudaStreamCreateWithFlags(&io_stream_, cudaStreamNonBlocking));
  AGENTRT_CUDA_TRY(cudaStreamCreateWithFlags(&io_write_stream_, cudaStreamNonBlocking));
  AGENTRT_CUDA_TRY(cudaEventCreateWithFlags(&meta_copied_, cudaEventDisableTiming));
  AGENTRT_CUDA_TRY(cudaEventCreateWithFlags(&compute_done_, cudaEventDisableTiming));
  AGENTRT_CUDA_TRY(cudaEventCreateWithFlags(&io_done_, cudaEventDisableTiming));
  for (cudaEvent_t& e : sampled_ready_)
    AGENTRT_CUDA_TRY(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  auto gemm = Gemm::create();
  if (!gemm.ok()) return gemm.error();
  gemm_ = std::move(*gemm);
  // Decode graphs pad batches with rows that write one spare block past num_blocks.
  const std::size_t blocks = static_cast<std::size_t>(geo_.num_blocks) + options_.decode_graphs;
  const std::size_t pool = blocks * block_bytes();
  AGENTRT_TRY(kv_pool_.allocate(pool));
  // Zeroed so that reading a never-written block is deterministic.
  AGENTRT_CUDA_TRY(cudaMemsetAsync(kv_pool_.get(), 0, pool, stream_));
  AGENTRT_TRY(buf_.block_host.reserve(block_bytes()));
  return ok_status();
}

Result<std::unique_ptr<CudaBackend>> CudaBackend::create(std::shared_ptr<const model::Model> model,
                                                         CudaBackendOptions options) {
  if (!model) return make_error(ErrorCode::invalid_argument, "CudaBackend::create: null model");
  return create(model->config(), model->weights(), options);
}

Result<std::unique_ptr<CudaBackend>> CudaBackend::create(const model::ModelConfig& config,
                                                         const model::ModelWeights& weights,
                                                         CudaBackendOptions options) {
  AGENTRT_TRY(check_options(config, options));
  std::unique_ptr<CudaBackend> b(new CudaBackend(config, options));
  AGENTRT_TRY(b->init_device());
  AGENTRT_TRY(b->allocate_weights(is_tied(config, weights)));
  AGENTRT_TRY(b->upload_weights(weights));
  AGENTRT_TRY(b->synchronize());
  return b;
}

Result<std::unique_ptr<CudaBackend>> CudaBackend::create_random(const model::ModelConfig& config,
                                                                CudaBackendOptions options,
                                                                std::uint64_t seed) {
  AGENTRT_TRY(check_options(config, options));
  std::unique_ptr<CudaBackend> b(new CudaBackend(config, options));
  AGENTRT_TRY(b->init_device());
  AGENTRT_TRY(b->allocate_weights(config.tie_word_embeddings));
  AGENTRT_TRY(b->random_weights(seed));
  return b;
}

Status CudaBackend::randomize_kv(std::uint64_t seed) {
  const std::size_t count = kv_pool_.bytes() / dtype_bytes(dtype_);
  AGENTRT_CUDA_TRY(launch_fill_random(dtype_, kv_pool_.get(), count, seed, 1.0f, stream_));
  return synchronize();
}

Status CudaBackend::synchronize() {
  return cuda_status(cudaStreamSynchronize(stream_), "cuda backend: stream");
}

Status CudaBackend::check_plan(const BatchPlan& plan, int pending_rows) const {
  return check_batch_plan(plan, geo_.num_blocks, geo_.block_size, config_.vocab_size,
                          config_.max_context(), pending_rows);
}

Status CudaBackend::copy_blocks(std::span<const std::pair<std::int32_t, std::int32_t>> pairs) {
  const int n = geo_.num_blocks;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto [src, dst] = pairs[i];
    if (src < 0 || src >= n || dst < 0 || dst >= n) {
      return make_error(ErrorCode::invalid_argument, "copy_blocks: pair " + std::to_string(i) +
                                                         " (" + std::to_string(src) + ", " +
                                                         std::to_string(dst) + ") is outside [0, " +
                                                         std::to_string(n) + ")");
    }
  }
  if (pairs.empty()) return ok_status();
  std::vector<std::int32_t> flat;
  for (const auto& [src, dst] : pairs) {
    if (src == dst) continue;
    flat.push_back(src);
    flat.push_back(dst);
  }
  if (flat.empty()) return ok_status();
  AGENTRT_TRY(buf_.pairs.reserve(flat.size() * 4, stream_));
  // Synchronous upload: pairs are few (copy-on-write of partial blocks), and the copy must
  // follow every earlier write on the stream.
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(buf_.pairs.get(), flat.data(), flat.size() * 4,
                                   cudaMemcpyHostToDevice, stream_));
  AGENTRT_CUDA_TRY(launch_copy_blocks(kv_pool_.get(), block_bytes(), buf_.pairs.get<std::int32_t>(),
                                      static_cast<int>(flat.size() / 2), stream_));
  return synchronize();
}

std::size_t CudaBackend::block_bytes() const {
  return geo_.block_bytes(dtype_bytes(dtype_));
}

Status CudaBackend::check_block_io(const char* what, std::int32_t id, std::size_t size) const {
  return agentrt::check_block_io(what, id, size, geo_.num_blocks, block_bytes());
}

std::string CudaBackend::kv_layout() const {
  return std::string("cuda ") + (dtype_ == Dtype::bf16 ? "bf16" : "f32") +
         " [layer][K|V][kv_head][slot][head_dim] block_size " + std::to_string(geo_.block_size);
}

Status CudaBackend::register_host_memory(void* p, std::size_t bytes) {
  if (p == nullptr || bytes == 0) return ok_status();
  AGENTRT_CUDA_TRY(cudaHostRegister(p, bytes, cudaHostRegisterDefault));
  host_registered_.emplace_back(static_cast<char*>(p), bytes);
  return ok_status();
}

void CudaBackend::unregister_host_memory(void* p) {
  auto it = std::find_if(host_registered_.begin(), host_registered_.end(),
                         [&](const auto& r) { return r.first == p; });
  if (it == host_registered_.end()) return;
  // Copies from or to it may still be queued.
  if (io_stream_) cudaStreamSynchronize(io_stream_);
  cudaHostUnregister(p);
  host_registered_.erase(it);
}

bool CudaBackend::host_registered(const void* p, std::size_t bytes) const {
  const char* c = static_cast<const char*>(p);
  return std::any_of(host_registered_.begin(), host_registered_.end(), [&](const auto& r) {
    return c >= r.first && bytes <= r.second &&
           c - r.first <= static_cast<std::ptrdiff_t>(r.second - bytes);
  });
}

// The swap stream waits for the steps queued so far: they may write a block read here, or
// still read the old contents of a block written here.
Status CudaBackend::io_after_compute() {
  AGENTRT_CUDA_TRY(cudaEventRecord(compute_done_, stream_));
  AGENTRT_CUDA_TRY(cudaStreamWaitEvent(io_stream_, compute_done_, 0));
  return ok_status();
}

Status CudaBackend::queue_read(std::int32_t id, std::span<std::byte> out) {
  const std::size_t bytes = block_bytes();
  const char* src = kv_pool_.get<const char>() + static_cast<std::size_t>(id) * bytes;
  if (host_registered(out.data(), bytes)) {
    AGENTRT_CUDA_TRY(cudaMemcpyAsync(out.data(), src, bytes, cudaMemcpyDeviceToHost, io_stream_));
    return ok_status();
  }
  AGENTRT_CUDA_TRY(
      cudaMemcpyAsync(buf_.block_host.get(), src, bytes, cudaMemcpyDeviceToHost, io_stream_));
  AGENTRT_CUDA_TRY(cudaStreamSynchronize(io_stream_));
  std::memcpy(out.data(), buf_.block_host.get(), bytes);
  return ok_status();
}

Status CudaBackend::queue_write(std::int32_t id, std::span<const std::byte> in) {
  const std::size_t bytes = block_bytes();
  char* dst = kv_pool_.get<char>() + static_cast<std::size_t>(id) * bytes;
  if (host_registered(in.data(), bytes)) {
    AGENTRT_CUDA_TRY(cudaMemcpyAsync(dst, in.data(), bytes, cudaMemcpyHostToDevice, io_stream_));
    return ok_status();
  }
  std::memcpy(buf_.block_host.get(), in.data(), bytes);
  AGENTRT_CUDA_TRY(
      cudaMemcpyAsync(dst, buf_.block_host.get(), bytes, cudaMemcpyHostToDevice, io_stream_));
  // The staging buffer is reused by the next copy.
  AGENTRT_CUDA_TRY(cudaStreamSynchronize(io_stream_));
  return ok_status();
}

Status CudaBackend::read_block(std::int32_t id, std::span<std::byte> out) {
  return read_blocks(std::span(&id, 1), std::span(&out, 1));
}

Status CudaBackend::write_block(std::int32_t id, std::span<const std::byte> in) {
  return write_blocks(std::span(&id, 1), std::span(&in, 1));
}

Status CudaBackend::read_blocks(std::span<const std::int32_t> ids,
                                std::span<const std::span<std::byte>> out) {
  if (ids.size() != out.size()) return block_count_error("read_blocks");
  for (std::size_t i = 0; i < ids.size(); ++i)
    AGENTRT_TRY(check_block_io("read_block", ids[i], out[i].size()));
  if (ids.empty()) return ok_status();
  AGENTRT_TRY(io_after_compute());
  for (std::size_t i = 0; i < ids.size(); ++i)
    AGENTRT_TRY(queue_read(ids[i], out[i]));
  return cuda_status(cudaStreamSynchronize(io_stream_), "read_blocks");
}

Status CudaBackend::write_blocks(std::span<const std::int32_t> ids,
                                 std::span<const std::span<const std::byte>> in) {
  if (ids.size() != in.size()) return block_count_error("write_blocks");
  for (std::size_t i = 0; i < ids.size(); ++i)
    AGENTRT_TRY(check_block_io("write_block", ids[i], in[i].size()));
  if (ids.empty()) return ok_status();
  AGENTRT_TRY(io_after_compute());
  for (std::size_t i = 0; i < ids.size(); ++i)
    AGENTRT_TRY(queue_write(ids[i], in[i]));
  // Later steps read the blocks only after the copies.
  AGENTRT_CUDA_TRY(cudaEventRecord(io_done_, io_stream_));
  AGENTRT_CUDA_TRY(cudaStreamWaitEvent(stream_, io_done_, 0));
  // The caller may reuse its memory once this returns.
  return cuda_status(cudaStreamSynchronize(io_stream_), "write_blocks");
}

Status CudaBackend::swap_blocks(std::span<const std::int32_t> read_ids,
                                std::span<const std::span<std::byte>> out,
                                std::span<const std::int32_t> write_ids,
                                std::span<const std::span<const std::byte>> in) {
  const std::size_t bytes = block_bytes();
  bool direct = !read_ids.empty() && !write_ids.empty();
  for (const auto& o : out)
    direct = direct && host_registered(o.data(), o.size());
  for (const auto& i : in)
    direct = direct && host_registered(i.data(), i.size());
  if (!direct) {
    AGENTRT_TRY(read_blocks(read_ids, out));
    return write_blocks(write_ids, in);
  }
  if (read_ids.size() != out.size()) return block_count_error("swap_blocks");
  if (write_ids.size() != in.size()) return block_count_error("swap_blocks");
  for (std::size_t i = 0; i < read_ids.size(); ++i)
    AGENTRT_TRY(check_block_io("read_block", read_ids[i], out[i].size()));
  for (std::size_t i = 0; i < write_ids.size(); ++i)
    AGENTRT_TRY(check_block_io("write_block", write_ids[i], in[i].size()));
  // An event after every kChunk reads: a write waits for the chunk holding its block's read.
  constexpr std::size_t kChunk = 8;
  const std::size_t chunks = (read_ids.size() + kChunk - 1) / kChunk;
  while (swap_events_.size() < chunks) {
    cudaEvent_t e = nullptr;
    AGENTRT_CUDA_TRY(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    swap_events_.push_back(e);
  }
  AGENTRT_TRY(io_after_compute());
  AGENTRT_CUDA_TRY(cudaStreamWaitEvent(io_write_stream_, compute_done_, 0));
  std::unordered_map<std::int32_t, std::size_t> read_at;
  for (std::size_t i = 0; i < read_ids.size(); ++i) {
    const char* src = kv_pool_.get<const char>() + static_cast<std::size_t>(read_ids[i]) * bytes;
    AGENTRT_CUDA_TRY(
        cudaMemcpyAsync(out[i].data(), src, bytes, cudaMemcpyDeviceToHost, io_stream_));
    if ((i + 1) % kChunk == 0 || i + 1 == read_ids.size())
      AGENTRT_CUDA_TRY(cudaEventRecord(swap_events_[i / kChunk], io_stream_));
    read_at[read_ids[i]] = i;
  }
  std::size_t waited = 0;  // chunks the write stream waits for already
  for (std::size_t j = 0; j < write_ids.size(); ++j) {
    if (auto it = read_at.find(write_ids[j]);
        it != read_at.end() && it->second / kChunk >= waited) {
      AGENTRT_CUDA_TRY(cudaStreamWaitEvent(io_write_stream_, swap_events_[it->second / kChunk], 0));
      waited = it->second / kChunk + 1;
    }
    char* dst = kv_pool_.get<char>() + static_cast<std::size_t>(write_ids[j]) * bytes;
    AGENTRT_CUDA_TRY(
        cudaMemcpyAsync(dst, in[j].data(), bytes, cudaMemcpyHostToDevice, io_write_stream_));
  }
  // Later steps read the written blocks only after the copies.
  AGENTRT_CUDA_TRY(cudaEventRecord(io_done_, io_write_stream_));
  AGENTRT_CUDA_TRY(cudaStreamWaitEvent(stream_, io_done_, 0));
  const cudaError_t reads = cudaStreamSynchronize(io_stream_);
  AGENTRT_TRY(cuda_status(cudaStreamSynchronize(io_write_stream_), "swap_blocks"));
  return cuda_status(reads, "swap_blocks");
}

}  // namespace agentrt::kernels
