// Engine internals shared by engine.cpp and engine_step.cpp (not a public header).
#pragma once

#include <variant>

#include "engine/engine.h"

namespace agentrt {

struct Engine::Seq {
  RequestId id = 0;
  std::int64_t program = 0;
  std::vector<std::int32_t> tokens;  // every token of the conversation so far
  std::size_t turn_start = 0;        // first output token of the current turn
  std::int64_t turn_prefilled = 0;   // tokens computed for this turn before its first output
  sampling::SamplingParams params;
  std::optional<sampling::Sampler> sampler;
  std::uint64_t seed = 0;  // the sampler's: params.seed, else one drawn for the request
  std::optional<kv::Duration> pause_on_finish;
  bool pause_only_at_stop = false;
  bool paused = false;
  // Overlapped steps: >= 0 while tokens.back() is a placeholder for the token that the step
  // in flight samples in this logits row (Engine::hold_places).
  int pending_row = -1;
  // Counts pauses and resumes: a sample launched in an earlier turn is not taken.
  std::uint64_t turn = 0;
  // KvReuse::blend (issue 21): the prompt's segments and how each was served.
  struct BlendSegment {
    PromptSegment span;
    bool looked_up = false;                       // at the first step that reached it
    std::shared_ptr<const kv::SegmentEntry> hit;  // placed from the segment cache
    bool stored = false;                          // a miss, stored once computed
  };
  std::vector<BlendSegment> blend;  // empty unless kv_reuse is blend on a capable backend
  bool blends = false;              // kv_reuse blend on a capable backend: resumes add segments
  float blend_recompute = 0.0f;
  bool blend_anchors = false;  // its placements use the anchor pool
};

struct Engine::Command {
  struct Add {
    EngineRequest req;
  };
  struct Cancel {};
  struct Pause {
    kv::Duration ttl;
  };
  struct Resume {
    std::vector<std::int32_t> appended;
    ResumeOptions options;
  };
  struct Repin {
    kv::Duration ttl;
  };
  struct Fork {
    RequestId child;
    bool refused = false;  // over max_requests: the child gets an error event
  };
  RequestId id = 0;
  std::variant<Add, Cancel, Pause, Resume, Repin, Fork> what;
};

// Adapts the Backend's block I/O to the KV manager.
class Engine::BackendMemory final : public kv::BlockMemory {
 public:
  explicit BackendMemory(Backend& b) : b_(b) {}
  std::size_t block_bytes() const override { return b_.block_bytes(); }
  Status copy(std::span<const std::pair<std::int32_t, std::int32_t>> pairs) override {
    return b_.copy_blocks(pairs);
  }
  Status read(std::int32_t id, std::span<std::byte> out) override { return b_.read_block(id, out); }
  Status write(std::int32_t id, std::span<const std::byte> in) override {
    return b_.write_block(id, in);
  }
  Status read_many(std::span<const std::int32_t> ids,
                   std::span<const std::span<std::byte>> out) override {
    return b_.read_blocks(ids, out);
  }
  Status write_many(std::span<const std::int32_t> ids,
                    std::span<const std::span<const std::byte>> in) override {
    return b_.write_blocks(ids, in);
  }
  Status swap_many(std::span<const std::int32_t> read_ids,
                   std::span<const std::span<std::byte>> out,
                   std::span<const std::int32_t> write_ids,
                   std::span<const std::span<const std::byte>> in) override {
    return b_.swap_blocks(read_ids, out, write_ids, in);
  }

 private:
  Backend& b_;
};

// KvReuse::blend's probe layer: layer 0's K/V depend on the token and its position only;
// layer 1 is the first that sees the context.
inline int blend_probe_layer(int num_layers) {
  return num_layers > 1 ? 1 : 0;
}

}  // namespace agentrt
