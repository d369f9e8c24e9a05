// Backend: the device-specific half of the engine. It owns the KV block memory and runs
// forward steps; the scheduler, KV manager and sampling are shared by every backend.
// One thread drives a Backend at a time (the engine's step loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/anchor_pool.h"
#include "engine/batch_plan.h"
#include "engine/common/result.h"
#include "engine/device_sampling.h"

namespace agentrt {

struct KvGeometry {
  int num_blocks = 0;   // physical blocks in the pool
  int block_size = 16;  // tokens per block
  int num_layers = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  // Bytes of one block across all layers, K and V.
  std::size_t block_bytes(std::size_t element_size) const {
    return element_size * 2u * num_layers * block_size * num_kv_heads * head_dim;
  }
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;
  virtual const KvGeometry& kv_geometry() const = 0;

  // Runs one step: writes K/V of every chunk's tokens into its blocks, then fills `out`
  // with the logits rows the plan asks for. Errors leave the KV of untouched blocks intact.
  virtual Status forward(const BatchPlan& plan, Logits& out) = 0;

  // Sampling without the logits leaving the device: runs the step as forward() and samples
  // logits row i under params[i] (one row per sequence, none for no_logits ones; no
  // all_logits). Greedy
  // rows (temperature 0) give exactly sampling::Sampler's token (lowest id on ties); sampled
  // rows draw from Sampler's distribution, the draw fixed by (seed, step), not by Sampler's
  // generator. out[i].logprob is the chosen token's raw log-softmax when want_logprobs (else
  // 0). Errors: those of forward(); a params count other than the logits rows; unsupported
  // where samples_on_device() is false. A row whose params[i].mask >= 0 draws only among
  // the tokens of masks' mask number params[i].mask (its logprob is then under the masked
  // logits), after calling masks.fill when set (see DeviceTokenMasks); backends whose
  // masks_on_device() is false refuse masks (unsupported).
  virtual bool samples_on_device() const { return false; }
  virtual bool masks_on_device() const { return false; }
  virtual Status forward_sample(const BatchPlan& plan, std::span<const DeviceSampling> params,
                                const DeviceTokenMasks& masks, bool want_logprobs,
                                std::vector<DeviceSample>& out) {
    (void)plan;
    (void)params;
    (void)masks;
    (void)want_logprobs;
    (void)out;
    return make_error(ErrorCode::unsupported, name() + ": forward_sample is not supported");
  }

  // Overlapped steps (issue 17): forward_sample() split in two, so that the host lays out
  // and queues step n + 1 while the device runs step n (SGLang's overlap scheduler, vLLM
  // v1's asynchronous scheduling). launch_sample() queues a step as forward_sample() runs
  // it (no masks) and returns without waiting; collect_sample() waits for the oldest
  // launched step not yet collected and gives its samples. Plans may hold
  // pending_token(r) (batch_plan.h) for row r of the launch just before, taken on the
  // device. At most two launches are outstanding; block copies, swaps and segment reads
  // issued between them see the steps queued before in order, as on one stream. Errors:
  // those of forward_sample(); a pending token of a row the previous launch lacks; a third
  // outstanding launch; collect_sample() with none. Unsupported (the default) where
  // overlaps_steps() is false.
  virtual bool overlaps_steps() const { return false; }
  virtual Status launch_sample(const BatchPlan& plan, std::span<const DeviceSampling> params,
                               bool want_logprobs) {
    (void)plan;
    (void)params;
    (void)want_logprobs;
    return make_error(ErrorCode::unsupported, name() + ": launch_sample is not supported");
  }
  virtual Status collect_sample(std::vector<DeviceSample>& out) {
    (void)out;
    return make_error(ErrorCode::unsupported, name() + ": collect_sample is not supported");
  }

  // Copies whole blocks (every layer, K and V): pairs of (src, dst). Used for
  // copy-on-write of a shared partial block.
  virtual Status copy_blocks(std::span<const std::pair<std::int32_t, std::int32_t>> pairs) = 0;

  // Block swap, for the host and persistent KV tiers and for preemption by swapping.
  // kv_layout() names the bytes read_block()/write_block() move (backend, element type,
  // order): blocks saved under one layout are never read back under another. The Engine
  // mixes it into every KV block key, so a persistent store shared by two backends keeps
  // their blocks apart (a CPU f32 block and a CUDA f32 block are the same size but ordered
  // differently).
  virtual std::string kv_layout() const { return name(); }
  // Bytes of one block in the layout read_block()/write_block() use (every layer, K and V);
  // 0 when the backend cannot swap.
  virtual std::size_t block_bytes() const { return 0; }
  // Copies block `id` to `out` (block_bytes() long). Errors: a bad id or size, or
  // unsupported by this backend.
  virtual Status read_block(std::int32_t id, std::span<std::byte> out) {
    (void)id;
    (void)out;
    return make_error(ErrorCode::unsupported, name() + ": read_block is not supported");
  }
  // Overwrites block `id` from `in` (block_bytes() long). Errors as read_block().
  virtual Status write_block(std::int32_t id, std::span<const std::byte> in) {
    (void)id;
    (void)in;
    return make_error(ErrorCode::unsupported, name() + ": write_block is not supported");
  }
  // read_block() / write_block() of block ids[i] and span i for every i, overlapped where
  // the backend can (CUDA: async copies, one synchronization). Errors as theirs; blocks
  // before a bad id may have been copied. The defaults loop.
  virtual Status read_blocks(std::span<const std::int32_t> ids,
                             std::span<const std::span<std::byte>> out) {
    if (ids.size() != out.size()) return block_count_error("read_blocks");
    for (std::size_t i = 0; i < ids.size(); ++i)
      AGENTRT_TRY(read_block(ids[i], out[i]));
    return ok_status();
  }
  virtual Status write_blocks(std::span<const std::int32_t> ids,
                              std::span<const std::span<const std::byte>> in) {
    if (ids.size() != in.size()) return block_count_error("write_blocks");
    for (std::size_t i = 0; i < ids.size(); ++i)
      AGENTRT_TRY(write_block(ids[i], in[i]));
    return ok_status();
  }
  // read_blocks(read_ids, out) then write_blocks(write_ids, in), overlapped where the
  // backend can: a write waits only for the read of its own block (CUDA: both directions
  // of the bus at once). Errors as theirs; on error some of either may have been copied.
  virtual Status swap_blocks(std::span<const std::int32_t> read_ids,
                             std::span<const std::span<std::byte>> out,
                             std::span<const std::int32_t> write_ids,
                             std::span<const std::span<const std::byte>> in) {
    AGENTRT_TRY(read_blocks(read_ids, out));
    return write_blocks(write_ids, in);
  }
  // Host memory that block copies will often use (the host tier's slab): a backend may pin
  // it so that read_block()/write_block() on spans inside it copy without staging (CUDA:
  // cudaHostRegister). Until unregister_host_memory(p), the memory must stay allocated.
  // Errors: the backend could not register it (copies still work, staged). Default: no-op.
  virtual Status register_host_memory(void* p, std::size_t bytes) {
    (void)p;
    (void)bytes;
    return ok_status();
  }
  // Undoes register_host_memory(p, ...). No-op for memory not registered.
  virtual void unregister_host_memory(void* p) { (void)p; }

  // --- Segment KV for KvReuse::blend (issue 21). A backend whose token_kv_bytes() is 0
  // cannot blend: the engine then computes segments as under exact. ---
  // Bytes of one token's KV (every layer, K and V) as read_token_kv() writes it.
  virtual std::size_t token_kv_bytes() const { return 0; }
  // Copies the KV of positions [begin, begin + count) of the sequence whose blocks are
  // `block_table` into `out` (count * token_kv_bytes()). Errors: bad positions or size.
  virtual Status read_token_kv(std::span<const std::int32_t> block_table, std::int32_t begin,
                               std::int32_t count, std::span<std::byte> out) {
    (void)block_table, (void)begin, (void)count, (void)out;
    return make_error(ErrorCode::unsupported, name() + ": read_token_kv is not supported");
  }
  // Writes `in` (KV of consecutive tokens computed at positions source_begin, ...; a
  // multiple of token_kv_bytes()) to positions begin, ... of `block_table`, the keys
  // re-rotated by begin - source_begin. Errors as read_token_kv().
  virtual Status place_token_kv(std::span<const std::int32_t> block_table, std::int32_t begin,
                                std::span<const std::byte> in, std::int32_t source_begin) {
    (void)block_table, (void)begin, (void)in, (void)source_begin;
    return make_error(ErrorCode::unsupported, name() + ": place_token_kv is not supported");
  }
  // Runs `plan` as forward() would through layers [0, layer) and the K/V projection of
  // `layer`, writing those layers' K/V of every chunk's tokens; no logits. Errors: those
  // of forward(), a layer outside [0, num_layers).
  virtual Status forward_kv_probe(const BatchPlan& plan, int layer) {
    (void)plan, (void)layer;
    return make_error(ErrorCode::unsupported, name() + ": forward_kv_probe is not supported");
  }
  // read_token_kv() and place_token_kv() of a segment named by `id`: ids are unique for the
  // process's life and always name the same bytes, so a backend may keep a copy under one
  // (CUDA: on the device, which spares the upload when the segment is placed). 0 names
  // nothing. Defaults: read_token_kv() and place_token_kv().
  virtual Status read_segment_kv(std::uint64_t id, std::span<const std::int32_t> block_table,
                                 std::int32_t begin, std::int32_t count, std::span<std::byte> out) {
    (void)id;
    return read_token_kv(block_table, begin, count, out);
  }
  virtual Status place_segment_kv(std::uint64_t id, std::span<const std::int32_t> block_table,
                                  std::int32_t begin, std::span<const std::byte> in,
                                  std::int32_t source_begin) {
    (void)id;
    return place_token_kv(block_table, begin, in, source_begin);
  }
  // For each token of `in` (as place_token_kv() takes it), the squared L2 distance between
  // its layer-`layer` K (re-rotated to its new position) and V and those now at positions
  // begin, ... of `block_table`: out[i], one per token. Errors as read_token_kv().
  virtual Status token_kv_deviation(std::span<const std::int32_t> block_table, std::int32_t begin,
                                    std::span<const std::byte> in, std::int32_t source_begin,
                                    int layer, std::span<float> out) {
    (void)block_table, (void)begin, (void)in, (void)source_begin, (void)layer, (void)out;
    return make_error(ErrorCode::unsupported, name() + ": token_kv_deviation is not supported");
  }

  // --- Anchors for KvReuse::blend (KVCOMM's offsets, kv/segment_anchors.h). Offsets are f32,
  // keys taken back to position 0 (un-rotated: RoPE is linear, so K at p = R(p) k). Layout of
  // one token: for each layer of [first_layer, last_layer), K then V, each
  // num_kv_heads * head_dim floats (token_offset_floats()). ---
  // Floats of one token's offsets over `layers` layers.
  std::size_t token_offset_floats(int layers) const {
    const auto& g = kv_geometry();
    return 2u * static_cast<std::size_t>(layers) * static_cast<std::size_t>(g.num_kv_heads) *
           static_cast<std::size_t>(g.head_dim);
  }
  // For each token i of `in` (as place_token_kv() takes it, computed at source_begin + i)
  // and each layer of [first_layer, last_layer): `offsets` gets the KV now at position
  // begin + i of `block_table` minus that of `in`, both un-rotated (K: R(-(begin + i)) K_now
  // - R(-(source_begin + i)) K_in; V: V_now - V_in), and `unrotated` gets `in`'s own KV
  // un-rotated. Either span may be empty (not written); otherwise each holds tokens *
  // token_offset_floats(last_layer - first_layer). Errors: bad layers, sizes or positions.
  virtual Status token_kv_offsets(std::span<const std::int32_t> block_table, std::int32_t begin,
                                  std::span<const std::byte> in, std::int32_t source_begin,
                                  int first_layer, int last_layer, std::span<float> offsets,
                                  std::span<float> unrotated) {
    (void)block_table, (void)begin, (void)in, (void)source_begin, (void)first_layer,
        (void)last_layer, (void)offsets, (void)unrotated;
    return make_error(ErrorCode::unsupported, name() + ": token_kv_offsets is not supported");
  }
  // Adds `offsets` (token_kv_offsets()'s layout over [first_layer, last_layer), a multiple of
  // token_offset_floats()) to the KV at positions begin, ... of `block_table`: K +=
  // R(begin + i) dK, V += dV. Errors: bad layers, sizes or positions.
  virtual Status add_token_kv_offsets(std::span<const std::int32_t> block_table, std::int32_t begin,
                                      int first_layer, int last_layer,
                                      std::span<const float> offsets) {
    (void)block_table, (void)begin, (void)first_layer, (void)last_layer, (void)offsets;
    return make_error(ErrorCode::unsupported, name() + ": add_token_kv_offsets is not supported");
  }
  // An anchor pool that keeps anchors and predicts on this backend's device, covering
  // [probe_layer, num_layers); null (the default): the engine keeps a HostAnchorPool, fed
  // through the two calls above.
  virtual std::unique_ptr<AnchorPool> make_anchor_pool(int probe_layer,
                                                       const kv::AnchorOptions& options) {
    (void)probe_layer, (void)options;
    return nullptr;
  }

 protected:
  Status block_count_error(const char* what) const {
    return make_error(ErrorCode::invalid_argument,
                      name() + ": " + what + ": as many ids as spans are needed");
  }
};

}  // namespace agentrt
