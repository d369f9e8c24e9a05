// CudaBackend's segment KV for KvReuse::blend (issue 21): token-granular KV copies between
// the paged pool and the host, placement at a new offset with the keys re-rotated on the
// device (kernels/segment_kv.cu), the early-layer probe, the per-token KV deviation that
// CacheBlend selects recomputed tokens by, and KVCOMM's anchor offsets. As on the CPU, keys are
// stored after RoPE (and q/k norm), so a key computed at p0 moves to p1 by one more rotation by p1
// - p0.
#include <string>

#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"
#include "kernels/device_anchor_pool.h"
#include "kernels/segment_kv.h"

namespace agentrt::kernels {

std::size_t CudaBackend::token_kv_bytes() const {
  return dtype_bytes(dtype_) * 2u * static_cast<std::size_t>(geo_.num_layers) *
         static_cast<std::size_t>(geo_.num_kv_heads) * static_cast<std::size_t>(geo_.head_dim);
}

TokenKvParams CudaBackend::token_params(std::int32_t begin, std::int64_t count,
                                        void* tokens) const {
  return {{kv_pool_.get(), geo_.num_blocks, geo_.num_layers, geo_.num_kv_heads, geo_.block_size,
           geo_.head_dim},
          buf_.seg_table.get<std::int32_t>(),
          begin,
          static_cast<int>(count),
          tokens};
}

Status CudaBackend::upload_token_table(std::span<const std::int32_t> block_table) {
  const std::size_t bytes = block_table.size() * sizeof(std::int32_t);
  AGENTRT_TRY(buf_.seg_table.reserve(bytes));
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(buf_.seg_table.get(), block_table.data(), bytes,
                                   cudaMemcpyHostToDevice, stream_));
  return ok_status();
}

Status CudaBackend::read_token_kv(std::span<const std::int32_t> block_table, std::int32_t begin,
                                  std::int32_t count, std::span<std::byte> out) {
  AGENTRT_TRY(check_token_range("read_token_kv", block_table, begin, count, geo_.num_blocks,
                                geo_.block_size));
  if (out.size() != static_cast<std::size_t>(count) * token_kv_bytes()) {
    return make_error(ErrorCode::invalid_argument, "read_token_kv: buffer of " +
                                                       std::to_string(out.size()) + " bytes for " +
                                                       std::to_string(count) + " tokens");
  }
  if (count == 0) return ok_status();
  AGENTRT_TRY(upload_token_table(block_table));
  AGENTRT_TRY(buf_.seg_tokens.reserve(out.size()));
  const TokenKvParams p = token_params(begin, count, buf_.seg_tokens.get());
  AGENTRT_CUDA_TRY(launch_gather_token_kv(dtype_, p, stream_));
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(out.data(), buf_.seg_tokens.get(), out.size(),
                                   cudaMemcpyDeviceToHost, stream_));
  return synchronize();
}

Status CudaBackend::read_segment_kv(std::uint64_t id, std::span<const std::int32_t> block_table,
                                    std::int32_t begin, std::int32_t count,
                                    std::span<std::byte> out) {
  AGENTRT_TRY(check_token_range("read_segment_kv", block_table, begin, count, geo_.num_blocks,
                                geo_.block_size));
  if (out.size() != static_cast<std::size_t>(count) * token_kv_bytes()) {
    return make_error(ErrorCode::invalid_argument, "read_segment_kv: buffer of " +
                                                       std::to_string(out.size()) + " bytes for " +
                                                       std::to_string(count) + " tokens");
  }
  void* copy = count == 0 ? nullptr : seg_cache_.insert(id, out.size());
  if (copy == nullptr) return read_token_kv(block_table, begin, count, out);
  AGENTRT_TRY(upload_token_table(block_table));
  const TokenKvParams p = token_params(begin, count, copy);
  AGENTRT_CUDA_TRY(launch_gather_token_kv(dtype_, p, stream_));
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(out.data(), copy, out.size(), cudaMemcpyDeviceToHost, stream_));
  return synchronize();
}

Result<std::int64_t> CudaBackend::check_token_bytes(const char* what,
                                                    std::span<const std::int32_t> block_table,
                                                    std::int32_t begin, std::size_t bytes) const {
  const std::size_t tkb = token_kv_bytes();
  if (bytes % tkb != 0) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(what) + ": " + std::to_string(bytes) +
                          " bytes are not a whole number of tokens of " + std::to_string(tkb));
  }
  const auto count = static_cast<std::int64_t>(bytes / tkb);
  AGENTRT_TRY(check_token_range(what, block_table, begin, count, geo_.num_blocks, geo_.block_size));
  return count;
}

Status CudaBackend::place_from_device(std::int32_t begin, std::int64_t count, const void* tokens,
                                      std::int32_t source_begin) {
  const TokenKvParams p = token_params(begin, count, const_cast<void*>(tokens));
  AGENTRT_CUDA_TRY(
      launch_place_token_kv(dtype_, p, w_.inv_freq.get<float>(), begin - source_begin, stream_));
  return ok_status();
}

Status CudaBackend::place_token_kv(std::span<const std::int32_t> block_table, std::int32_t begin,
                                   std::span<const std::byte> in, std::int32_t source_begin) {
  auto counted = check_token_bytes("place_token_kv", block_table, begin, in.size());
  if (!counted.ok()) return counted.error();
  const std::int64_t count = *counted;
  if (count == 0) return ok_status();
  AGENTRT_TRY(upload_token_table(block_table));
  AGENTRT_TRY(buf_.seg_tokens.reserve(in.size()));
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(buf_.seg_tokens.get(), in.data(), in.size(),
                                   cudaMemcpyHostToDevice, stream_));
  AGENTRT_TRY(place_from_device(begin, count, buf_.seg_tokens.get(), source_begin));
  // `in` may be freed once this returns: the copy above has left it (a pageable source is
  // staged before cudaMemcpyAsync returns; a pinned one is not), so wait for the stream.
  return synchronize();
}

Status CudaBackend::place_segment_kv(std::uint64_t id, std::span<const std::int32_t> block_table,
                                     std::int32_t begin, std::span<const std::byte> in,
                                     std::int32_t source_begin) {
  auto counted = check_token_bytes("place_segment_kv", block_table, begin, in.size());
  if (!counted.ok()) return counted.error();
  const std::int64_t count = *counted;
  if (count == 0) return ok_status();
  const void* copy = seg_cache_.find(id, in.size());
  if (copy == nullptr) {
    void* room = seg_cache_.insert(id, in.size());
    if (room == nullptr) return place_token_kv(block_table, begin, in, source_begin);
    AGENTRT_CUDA_TRY(cudaMemcpyAsync(room, in.data(), in.size(), cudaMemcpyHostToDevice, stream_));
    AGENTRT_TRY(synchronize());  // `in` may be freed once this returns
    copy = room;
  }
  AGENTRT_TRY(upload_token_table(block_table));
  return place_from_device(begin, count, copy, source_begin);
}

Status CudaBackend::forward_kv_probe(const BatchPlan& plan, int layer) {
  if (layer < 0 || layer >= config_.num_layers) {
    return make_error(ErrorCode::invalid_argument, "forward_kv_probe: layer " +
                                                       std::to_string(layer) + " is outside [0, " +
                                                       std::to_string(config_.num_layers) + ")");
  }
  AGENTRT_TRY(check_plan(plan));
  AGENTRT_TRY(lay_out_rows(plan));
  AGENTRT_TRY(lay_out({}));
  AGENTRT_CUDA_TRY(launch_embed(dtype_, w_.embed.get(), meta_.tokens, nullptr,
                                static_cast<int>(step_.tokens.size()), config_.hidden_size,
                                buf_.x.get<float>(), stream_));
  for (int l = 0; l < layer; ++l)
    AGENTRT_TRY(run_layer(l));
  return run_qkv(layer);
}

Status CudaBackend::token_kv_deviation(std::span<const std::int32_t> block_table,
                                       std::int32_t begin, std::span<const std::byte> in,
                                       std::int32_t source_begin, int layer, std::span<float> out) {
  const std::size_t tkb = token_kv_bytes();
  const auto count = static_cast<std::int64_t>(in.size() / tkb);
  if (in.size() % tkb != 0 || out.size() != static_cast<std::size_t>(count) || layer < 0 ||
      layer >= config_.num_layers) {
    return make_error(ErrorCode::invalid_argument,
                      "token_kv_deviation: " + std::to_string(in.size()) + " bytes, " +
                          std::to_string(out.size()) + " outputs, layer " + std::to_string(layer));
  }
  AGENTRT_TRY(check_token_range("token_kv_deviation", block_table, begin, count, geo_.num_blocks,
                                geo_.block_size));
  if (count == 0) return ok_status();
  AGENTRT_TRY(upload_token_table(block_table));
  // Only the layer's slice of each token: [count][K|V][kv_head][head_dim].
  const std::size_t slice = tkb / static_cast<std::size_t>(geo_.num_layers);
  AGENTRT_TRY(buf_.seg_tokens.reserve(slice * static_cast<std::size_t>(count)));
  AGENTRT_TRY(buf_.seg_out.reserve(out.size_bytes()));
  AGENTRT_CUDA_TRY(cudaMemcpy2DAsync(
      buf_.seg_tokens.get(), slice, in.data() + static_cast<std::size_t>(layer) * slice, tkb, slice,
      static_cast<std::size_t>(count), cudaMemcpyHostToDevice, stream_));
  const TokenKvParams p = token_params(begin, count, buf_.seg_tokens.get());
  AGENTRT_CUDA_TRY(launch_token_kv_deviation(dtype_, p, w_.inv_freq.get<float>(),
                                             begin - source_begin, layer, buf_.seg_out.get<float>(),
                                             stream_));
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(out.data(), buf_.seg_out.get(), out.size_bytes(),
                                   cudaMemcpyDeviceToHost, stream_));
  return synchronize();
}

Status CudaBackend::check_layer_range(const char* what, int first_layer, int last_layer) const {
  if (first_layer < 0 || first_layer > last_layer || last_layer > geo_.num_layers) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(what) + ": layers [" + std::to_string(first_layer) + ", " +
                          std::to_string(last_layer) + ") are not inside [0, " +
                          std::to_string(geo_.num_layers) + "]");
  }
  return ok_status();
}

Status CudaBackend::token_kv_offsets(std::span<const std::int32_t> block_table, std::int32_t begin,
                                     std::span<const std::byte> in, std::int32_t source_begin,
                                     int first_layer, int last_layer, std::span<float> offsets,
                                     std::span<float> unrotated) {
  AGENTRT_TRY(check_layer_range("token_kv_offsets", first_layer, last_layer));
  auto counted = check_token_bytes("token_kv_offsets", block_table, begin, in.size());
  if (!counted.ok()) return counted.error();
  const std::int64_t count = *counted;
  const int layers = last_layer - first_layer;
  const std::size_t floats = static_cast<std::size_t>(count) * token_offset_floats(layers);
  for (const std::size_t n : {offsets.size(), unrotated.size()}) {
    if (n != 0 && n != floats) {
      return make_error(ErrorCode::invalid_argument,
                        "token_kv_offsets: outputs of " + std::to_string(offsets.size()) + " and " +
                            std::to_string(unrotated.size()) + " floats for " +
                            std::to_string(count) + " tokens of " + std::to_string(layers) +
                            " layers (0 or " + std::to_string(floats) + " each)");
    }
  }
  if (floats == 0 || (offsets.empty() && unrotated.empty())) return ok_status();
  AGENTRT_TRY(upload_token_table(block_table));
  // Only the layers' slice of each token: [count][layer][K|V][kv_head][head_dim].
  const std::size_t tkb = token_kv_bytes();
  const std::size_t layer_bytes = tkb / static_cast<std::size_t>(geo_.num_layers);
  const std::size_t slice = layer_bytes * static_cast<std::size_t>(layers);
  AGENTRT_TRY(buf_.seg_tokens.reserve(slice * static_cast<std::size_t>(count)));
  AGENTRT_TRY(buf_.seg_out.reserve(2 * floats * sizeof(float)));  // offsets, then unrotated
  AGENTRT_CUDA_TRY(cudaMemcpy2DAsync(
      buf_.seg_tokens.get(), slice, in.data() + static_cast<std::size_t>(first_layer) * layer_bytes,
      tkb, slice, static_cast<std::size_t>(count), cudaMemcpyHostToDevice, stream_));
  float* dev_offsets = buf_.seg_out.get<float>();
  float* dev_unrotated = dev_offsets + floats;
  const TokenKvParams p = token_params(begin, count, buf_.seg_tokens.get());
  TokenKvOffsetParams o;
  o.inv_freq = w_.inv_freq.get<float>();
  o.first_layer = first_layer;
  o.last_layer = last_layer;
  o.source_begin = source_begin;
  o.offsets = offsets.empty() ? nullptr : dev_offsets;
  o.unrotated = unrotated.empty() ? nullptr : dev_unrotated;
  AGENTRT_CUDA_TRY(launch_token_kv_offsets(dtype_, p, o, stream_));
  if (!offsets.empty()) {
    AGENTRT_CUDA_TRY(cudaMemcpyAsync(offsets.data(), dev_offsets, offsets.size_bytes(),
                                     cudaMemcpyDeviceToHost, stream_));
  }
  if (!unrotated.empty()) {
    AGENTRT_CUDA_TRY(cudaMemcpyAsync(unrotated.data(), dev_unrotated, unrotated.size_bytes(),
                                     cudaMemcpyDeviceToHost, stream_));
  }
  return synchronize();
}

Status CudaBackend::add_token_kv_offsets(std::span<const std::int32_t> block_table,
                                         std::int32_t begin, int first_layer, int last_layer,
                                         std::span<const float> offsets) {
  AGENTRT_TRY(check_layer_range("add_token_kv_offsets", first_layer, last_layer));
  const int layers = last_layer - first_layer;
  const std::size_t per_token = token_offset_floats(layers);
  if (per_token == 0) return ok_status();  // no layers: nothing to add, as on the CPU
  if (offsets.size() % per_token != 0) {
    return make_error(ErrorCode::invalid_argument,
                      "add_token_kv_offsets: " + std::to_string(offsets.size()) +
                          " floats are not a whole number of tokens of " +
                          std::to_string(per_token) + " (" + std::to_string(layers) + " layers)");
  }
  const auto count = static_cast<std::int64_t>(offsets.size() / per_token);
  AGENTRT_TRY(check_token_range("add_token_kv_offsets", block_table, begin, count, geo_.num_blocks,
                                geo_.block_size));
  if (count == 0) return ok_status();
  AGENTRT_TRY(upload_token_table(block_table));
  AGENTRT_TRY(buf_.seg_out.reserve(offsets.size_bytes()));
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(buf_.seg_out.get(), offsets.data(), offsets.size_bytes(),
                                   cudaMemcpyHostToDevice, stream_));
  const TokenKvParams p = token_params(begin, count, nullptr);
  AGENTRT_CUDA_TRY(launch_add_token_kv_offsets(dtype_, p, w_.inv_freq.get<float>(), first_layer,
                                               last_layer, buf_.seg_out.get<float>(), stream_));
  return synchronize();  // `offsets` may be freed once this returns
}

std::unique_ptr<AnchorPool> CudaBackend::make_anchor_pool(int probe_layer,
                                                          const kv::AnchorOptions& options) {
  return DeviceAnchorPool::create(*this, probe_layer, options);
}

}  // namespace agentrt::kernels
