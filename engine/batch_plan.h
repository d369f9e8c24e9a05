// BatchPlan: what one forward step computes. The scheduler builds it; a Backend runs it.
// Prefill chunks and decodes mix freely: each entry is one sequence's run of new tokens.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/common/result.h"

namespace agentrt {

struct SequenceChunk {
  // Tokens whose K/V this step computes and writes, at positions start_pos, start_pos+1, ...
  std::vector<std::int32_t> tokens;
  // KV for positions [0, start_pos) is already in the cache blocks of block_table.
  std::int32_t start_pos = 0;
  // Physical block ids; must cover positions [0, start_pos + tokens.size()).
  std::vector<std::int32_t> block_table;
  // false: one logits row (for the last token); true: one row per token (golden tests).
  bool all_logits = false;
  // true (and all_logits false): no logits row at all. KvReuse::blend splits a prompt chunk
  // into runs of recomputed tokens; only the run that ends the chunk needs its logits.
  bool no_logits = false;
};

struct BatchPlan {
  std::vector<SequenceChunk> seqs;
};

// Overlapped steps (Backend::launch_sample): a token the previous launch is still sampling,
// written into a plan as pending_token(r) for that launch's logits row r. The backend takes
// the sampled id on the device, so step n + 1 is laid out and queued before step n's ids
// reach the host. Never in plans given to forward() or forward_sample().
constexpr std::int32_t pending_token(int row) {
  return -1 - row;
}
constexpr int pending_row(std::int32_t token) {
  return -1 - token;
}

// Checks a plan against a KV pool of `num_blocks` blocks of `block_size` tokens and a model
// of `vocab_size` tokens and `max_context` positions. Fails (invalid_argument, naming the
// sequence) on: no sequences, an empty chunk, a negative start_pos, positions past
// max_context, a block table that does not cover the chunk or holds an id outside
// [0, num_blocks), a token outside the vocabulary. Every Backend runs it before forward.
// `pending_rows`: the rows the previous launch samples (launch_sample); a pending_token(r)
// with r below it is allowed, any other negative token is not.
Status check_batch_plan(const BatchPlan& plan, int num_blocks, int block_size, int vocab_size,
                        std::int64_t max_context, int pending_rows = 0);
// Checks that every id of `tokens` is in [0, vocab_size). Fails (invalid_argument) with
// "<what> token 3: id 900 is outside the vocabulary [0, 832)". The Engine and generate()
// check prompts with it, so one bad request never reaches a step that would fail them all.
Status check_token_ids(std::span<const std::int32_t> tokens, int vocab_size,
                       const std::string& what);
// The checks of Backend::read_block()/write_block(), shared by the backends: invalid_argument
// naming `what` for an id outside [0, num_blocks) or a buffer of the wrong size.
Status check_block_io(const char* what, std::int32_t id, std::size_t size, int num_blocks,
                      std::size_t block_bytes);

// The checks of the backends' token KV copies (read_token_kv, place_token_kv, ...):
// invalid_argument naming `what` when positions [begin, begin + count) leave the block table,
// or a block they touch is outside [0, num_blocks).
Status check_token_range(const char* what, std::span<const std::int32_t> block_table,
                         std::int32_t begin, std::int64_t count, int num_blocks, int block_size);

// Logits of one step, row-major [rows, vocab]. Rows follow the plan's order: one per
// sequence, or one per token for sequences with all_logits, none for those with no_logits.
struct Logits {
  std::vector<float> data;
  int rows = 0;
  int vocab = 0;

  std::span<const float> row(int r) const {
    return {data.data() + static_cast<std::size_t>(r) * vocab, static_cast<std::size_t>(vocab)};
  }
};

}  // namespace agentrt
