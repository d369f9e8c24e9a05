// CpuBackend's segment KV for KvReuse::blend (issue 21): token-granular KV copies, placement
// at a new offset with the keys re-rotated, the early-layer probe and the KV deviation that
// CacheBlend selects tokens by. Keys are stored after RoPE (and after q/k norm), so a key
// computed at p0 moves to p1 by one more rotation: R(p1) = R(p1 - p0) R(p0).
#include <cstring>
#include <string>

#include "engine/cpu/cpu_backend.h"

namespace agentrt::cpu {

namespace {
constexpr std::size_t kMaxHalfDim = 256;  // head_dim <= 512, checked at creation
}  // namespace

std::size_t CpuBackend::token_kv_bytes() const {
  const auto& g = kv_.geometry();
  return sizeof(float) * 2u * static_cast<std::size_t>(g.num_layers) * g.num_kv_heads * g.head_dim;
}

Status CpuBackend::read_token_kv(std::span<const std::int32_t> block_table, std::int32_t begin,
                                 std::int32_t count, std::span<std::byte> out) {
  AGENTRT_TRY(check_token_range("read_token_kv", block_table, begin, count,
                                kv_.geometry().num_blocks, kv_.geometry().block_size));
  if (out.size() != static_cast<std::size_t>(count) * token_kv_bytes()) {
    return make_error(ErrorCode::invalid_argument, "read_token_kv: buffer of " +
                                                       std::to_string(out.size()) + " bytes for " +
                                                       std::to_string(count) + " tokens");
  }
  const auto& g = kv_.geometry();
  const std::size_t n = static_cast<std::size_t>(g.num_kv_heads) * g.head_dim * sizeof(float);
  std::byte* dst = out.data();
  for (std::int32_t p = begin; p < begin + count; ++p) {
    const std::int32_t block = block_table[static_cast<std::size_t>(p / g.block_size)];
    for (int layer = 0; layer < g.num_layers; ++layer) {
      std::memcpy(dst, kv_.k(layer, block, p % g.block_size), n);
      std::memcpy(dst + n, kv_.v(layer, block, p % g.block_size), n);
      dst += 2 * n;
    }
  }
  return ok_status();
}

Status CpuBackend::place_token_kv(std::span<const std::int32_t> block_table, std::int32_t begin,
                                  std::span<const std::byte> in, std::int32_t source_begin) {
  const std::size_t tkb = token_kv_bytes();
  if (in.size() % tkb != 0) {
    return make_error(ErrorCode::invalid_argument,
                      "place_token_kv: " + std::to_string(in.size()) +
                          " bytes are not a whole number of tokens of " + std::to_string(tkb));
  }
  const auto count = static_cast<std::int64_t>(in.size() / tkb);
  AGENTRT_TRY(check_token_range("place_token_kv", block_table, begin, count,
                                kv_.geometry().num_blocks, kv_.geometry().block_size));
  const auto& g = kv_.geometry();
  const auto hd = static_cast<std::size_t>(g.head_dim);
  const std::size_t floats = static_cast<std::size_t>(g.num_kv_heads) * hd;
  float cos[kMaxHalfDim], sin[kMaxHalfDim];
  rope_.angles(begin - source_begin, cos, sin);
  const std::byte* src = in.data();
  for (std::int64_t i = 0; i < count; ++i) {
    const auto p = static_cast<std::int32_t>(begin + i);
    const std::int32_t block = block_table[static_cast<std::size_t>(p / g.block_size)];
    for (int layer = 0; layer < g.num_layers; ++layer) {
      float* k = kv_.k(layer, block, p % g.block_size);
      std::memcpy(k, src, floats * sizeof(float));
      std::memcpy(kv_.v(layer, block, p % g.block_size), src + floats * sizeof(float),
                  floats * sizeof(float));
      for (int h = 0; h < g.num_kv_heads; ++h)
        rope_.apply(k + static_cast<std::size_t>(h) * hd, cos, sin);
      src += 2 * floats * sizeof(float);
    }
  }
  return ok_status();
}

Status CpuBackend::forward_kv_probe(const BatchPlan& plan, int layer) {
  if (layer < 0 || layer >= config_.num_layers) {
    return make_error(ErrorCode::invalid_argument, "forward_kv_probe: layer " +
                                                       std::to_string(layer) + " is outside [0, " +
                                                       std::to_string(config_.num_layers) + ")");
  }
  AGENTRT_TRY(check_plan(plan));
  lay_out(plan);
  embed_tokens();
  for (int l = 0; l < layer; ++l) {
    attention_block(l);
    mlp_block(l);
  }
  project_qkv(layer);
  return ok_status();
}

Status CpuBackend::token_kv_deviation(std::span<const std::int32_t> block_table, std::int32_t begin,
                                      std::span<const std::byte> in, std::int32_t source_begin,
                                      int layer, std::span<float> out) {
  const std::size_t tkb = token_kv_bytes();
  const auto count = static_cast<std::int64_t>(in.size() / tkb);
  if (in.size() % tkb != 0 || out.size() != static_cast<std::size_t>(count) || layer < 0 ||
      layer >= config_.num_layers) {
    return make_error(ErrorCode::invalid_argument,
                      "token_kv_deviation: " + std::to_string(in.size()) + " bytes, " +
                          std::to_string(out.size()) + " outputs, layer " + std::to_string(layer));
  }
  AGENTRT_TRY(check_token_range("token_kv_deviation", block_table, begin, count,
                                kv_.geometry().num_blocks, kv_.geometry().block_size));
  const auto& g = kv_.geometry();
  const auto hd = static_cast<std::size_t>(g.head_dim);
  const std::size_t floats = static_cast<std::size_t>(g.num_kv_heads) * hd;
  float cos[kMaxHalfDim], sin[kMaxHalfDim];
  rope_.angles(begin - source_begin, cos, sin);
  std::vector<float> k(floats), v(floats);
  for (std::int64_t i = 0; i < count; ++i) {
    const std::byte* src = in.data() + static_cast<std::size_t>(i) * tkb +
                           static_cast<std::size_t>(layer) * 2 * floats * sizeof(float);
    std::memcpy(k.data(), src, floats * sizeof(float));
    std::memcpy(v.data(), src + floats * sizeof(float), floats * sizeof(float));
    for (int h = 0; h < g.num_kv_heads; ++h)
      rope_.apply(k.data() + static_cast<std::size_t>(h) * hd, cos, sin);
    const auto p = static_cast<std::int32_t>(begin + i);
    const std::int32_t block = block_table[static_cast<std::size_t>(p / g.block_size)];
    const float* ck = kv_.k(layer, block, p % g.block_size);
    const float* cv = kv_.v(layer, block, p % g.block_size);
    float d = 0.0f;
    for (std::size_t j = 0; j < floats; ++j)
      d += (k[j] - ck[j]) * (k[j] - ck[j]) + (v[j] - cv[j]) * (v[j] - cv[j]);
    out[static_cast<std::size_t>(i)] = d;
  }
  return ok_status();
}

}  // namespace agentrt::cpu

namespace agentrt::cpu {

Status CpuBackend::check_layers(const char* what, int first_layer, int last_layer) const {
  if (first_layer < 0 || first_layer > last_layer || last_layer > config_.num_layers) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(what) + ": layers [" + std::to_string(first_layer) + ", " +
                          std::to_string(last_layer) + ") are not inside [0, " +
                          std::to_string(config_.num_layers) + "]");
  }
  return ok_status();
}

Status CpuBackend::token_kv_offsets(std::span<const std::int32_t> block_table, std::int32_t begin,
                                    std::span<const std::byte> in, std::int32_t source_begin,
                                    int first_layer, int last_layer, std::span<float> offsets,
                                    std::span<float> unrotated) {
  AGENTRT_TRY(check_layers("token_kv_offsets", first_layer, last_layer));
  const std::size_t tkb = token_kv_bytes();
  const auto count = static_cast<std::int64_t>(in.size() / tkb);
  const std::size_t want =
      static_cast<std::size_t>(count) * token_offset_floats(last_layer - first_layer);
  if (in.size() % tkb != 0 || (!offsets.empty() && offsets.size() != want) ||
      (!unrotated.empty() && unrotated.size() != want)) {
    return make_error(ErrorCode::invalid_argument,
                      "token_kv_offsets: " + std::to_string(in.size()) + " bytes in, " +
                          std::to_string(offsets.size()) + " and " +
                          std::to_string(unrotated.size()) + " floats out (" +
                          std::to_string(want) + " expected)");
  }
  AGENTRT_TRY(check_token_range("token_kv_offsets", block_table, begin, count,
                                kv_.geometry().num_blocks, kv_.geometry().block_size));
  const auto& g = kv_.geometry();
  const auto hd = static_cast<std::size_t>(g.head_dim);
  const std::size_t floats = static_cast<std::size_t>(g.num_kv_heads) * hd;
  float cin[kMaxHalfDim], sin_in[kMaxHalfDim], cnow[kMaxHalfDim], snow[kMaxHalfDim];
  std::vector<float> k_in(floats), k_now(floats);
  float* off = offsets.empty() ? nullptr : offsets.data();
  float* unr = unrotated.empty() ? nullptr : unrotated.data();
  for (std::int64_t i = 0; i < count; ++i) {
    const auto p = static_cast<std::int32_t>(begin + i);
    rope_.angles(-(source_begin + static_cast<std::int32_t>(i)), cin, sin_in);
    rope_.angles(-p, cnow, snow);
    const std::int32_t block = block_table[static_cast<std::size_t>(p / g.block_size)];
    for (int layer = first_layer; layer < last_layer; ++layer) {
      const std::byte* src = in.data() + static_cast<std::size_t>(i) * tkb +
                             static_cast<std::size_t>(layer) * 2 * floats * sizeof(float);
      const float* v_in = reinterpret_cast<const float*>(src) + floats;
      std::memcpy(k_in.data(), src, floats * sizeof(float));
      std::memcpy(k_now.data(), kv_.k(layer, block, p % g.block_size), floats * sizeof(float));
      const float* v_now = kv_.v(layer, block, p % g.block_size);
      for (int h = 0; h < g.num_kv_heads; ++h) {
        rope_.apply(k_in.data() + static_cast<std::size_t>(h) * hd, cin, sin_in);
        rope_.apply(k_now.data() + static_cast<std::size_t>(h) * hd, cnow, snow);
      }
      for (std::size_t j = 0; j < floats; ++j) {
        if (off != nullptr) off[j] = k_now[j] - k_in[j], off[floats + j] = v_now[j] - v_in[j];
        if (unr != nullptr) unr[j] = k_in[j], unr[floats + j] = v_in[j];
      }
      if (off != nullptr) off += 2 * floats;
      if (unr != nullptr) unr += 2 * floats;
    }
  }
  return ok_status();
}

Status CpuBackend::add_token_kv_offsets(std::span<const std::int32_t> block_table,
                                        std::int32_t begin, int first_layer, int last_layer,
                                        std::span<const float> offsets) {
  AGENTRT_TRY(check_layers("add_token_kv_offsets", first_layer, last_layer));
  const std::size_t per = token_offset_floats(last_layer - first_layer);
  if (per == 0) return ok_status();
  if (offsets.size() % per != 0) {
    return make_error(ErrorCode::invalid_argument,
                      "add_token_kv_offsets: " + std::to_string(offsets.size()) +
                          " floats are not a whole number of tokens of " + std::to_string(per));
  }
  const auto count = static_cast<std::int64_t>(offsets.size() / per);
  AGENTRT_TRY(check_token_range("add_token_kv_offsets", block_table, begin, count,
                                kv_.geometry().num_blocks, kv_.geometry().block_size));
  const auto& g = kv_.geometry();
  const auto hd = static_cast<std::size_t>(g.head_dim);
  const std::size_t floats = static_cast<std::size_t>(g.num_kv_heads) * hd;
  float cos[kMaxHalfDim], sin[kMaxHalfDim];
  std::vector<float> dk(floats);
  const float* off = offsets.data();
  for (std::int64_t i = 0; i < count; ++i) {
    const auto p = static_cast<std::int32_t>(begin + i);
    rope_.angles(p, cos, sin);
    const std::int32_t block = block_table[static_cast<std::size_t>(p / g.block_size)];
    for (int layer = first_layer; layer < last_layer; ++layer) {
      std::memcpy(dk.data(), off, floats * sizeof(float));
      for (int h = 0; h < g.num_kv_heads; ++h)
        rope_.apply(dk.data() + static_cast<std::size_t>(h) * hd, cos, sin);
      float* k = kv_.k(layer, block, p % g.block_size);
      float* v = kv_.v(layer, block, p % g.block_size);
      for (std::size_t j = 0; j < floats; ++j)
        k[j] += dk[j], v[j] += off[floats + j];
      off += 2 * floats;
    }
  }
  return ok_status();
}

}  // namespace agentrt::cpu
