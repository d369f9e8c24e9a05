// check_batch_plan: the plan checks every Backend shares.
#include "engine/batch_plan.h"

#include <string>

namespace agentrt {

Status check_token_ids(std::span<const std::int32_t> tokens, int vocab_size,
                       const std::string& what) {
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    if (tokens[t] < 0 || tokens[t] >= vocab_size) {
      return make_error(ErrorCode::invalid_argument,
                        what + " token " + std::to_string(t) + ": id " + std::to_string(tokens[t]) +
                            " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
    }
  }
  return ok_status();
}

Status check_batch_plan(const BatchPlan& plan, int num_blocks, int block_size, int vocab_size,
                        std::int64_t max_context, int pending_rows) {
  if (plan.seqs.empty()) return make_error(ErrorCode::invalid_argument, "batch plan: no sequences");
  for (std::size_t i = 0; i < plan.seqs.size(); ++i) {
    const auto& s = plan.seqs[i];
    const std::string where = "batch plan: seq " + std::to_string(i) + ": ";
    auto bad = [&](const std::string& m) {
      return make_error(ErrorCode::invalid_argument, where + m);
    };
    if (s.tokens.empty()) return bad("no tokens");
    if (s.start_pos < 0) return bad("start_pos " + std::to_string(s.start_pos) + " < 0");
    const std::int64_t end =
        static_cast<std::int64_t>(s.start_pos) + static_cast<std::int64_t>(s.tokens.size());
    if (end > max_context) {
      return bad("positions up to " + std::to_string(end) + " exceed the model's context of " +
                 std::to_string(max_context));
    }
    const std::int64_t need = (end + block_size - 1) / block_size;
    if (static_cast<std::int64_t>(s.block_table.size()) < need) {
      return bad("block table has " + std::to_string(s.block_table.size()) + " blocks, " +
                 std::to_string(end) + " positions need " + std::to_string(need));
    }
    for (std::int64_t b = 0; b < need; ++b) {
      const std::int32_t id = s.block_table[static_cast<std::size_t>(b)];
      if (id < 0 || id >= num_blocks) {
        return bad("block_table[" + std::to_string(b) + "] = " + std::to_string(id) +
                   " is outside [0, " + std::to_string(num_blocks) + ")");
      }
    }
    for (std::size_t t = 0; t < s.tokens.size(); ++t) {
      if (s.tokens[t] < 0 && pending_row(s.tokens[t]) < pending_rows) continue;
      if (s.tokens[t] < 0 && pending_rows > 0) {
        return bad("token " + std::to_string(t) + " = " + std::to_string(s.tokens[t]) +
                   " names row " + std::to_string(pending_row(s.tokens[t])) +
                   " of the previous launch, which samples " + std::to_string(pending_rows));
      }
      if (s.tokens[t] < 0 || s.tokens[t] >= vocab_size) {
        return bad("token " + std::to_string(t) + " = " + std::to_string(s.tokens[t]) +
                   " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
      }
    }
  }
  return ok_status();
}

Status check_block_io(const char* what, std::int32_t id, std::size_t size, int num_blocks,
                      std::size_t block_bytes) {
  if (id < 0 || id >= num_blocks) {
    return make_error(ErrorCode::invalid_argument, std::string(what) + ": block " +
                                                       std::to_string(id) + " is outside [0, " +
                                                       std::to_string(num_blocks) + ")");
  }
  if (size != block_bytes) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(what) + ": buffer of " + std::to_string(size) +
                          " bytes, a block has " + std::to_string(block_bytes));
  }
  return ok_status();
}

Status check_token_range(const char* what, std::span<const std::int32_t> block_table,
                         std::int32_t begin, std::int64_t count, int num_blocks, int block_size) {
  const std::int64_t end = static_cast<std::int64_t>(begin) + count;
  if (begin < 0 || count < 0 || end > static_cast<std::int64_t>(block_table.size()) * block_size) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(what) + ": positions [" + std::to_string(begin) + ", " +
                          std::to_string(end) + ") are outside the block table's " +
                          std::to_string(block_table.size() * block_size));
  }
  // Every block the range touches (a stride from `begin` would step over the last one).
  for (std::int64_t b = begin / block_size; end > begin && b <= (end - 1) / block_size; ++b) {
    const std::int32_t id = block_table[static_cast<std::size_t>(b)];
    if (id < 0 || id >= num_blocks) {
      return make_error(ErrorCode::invalid_argument, std::string(what) + ": block id " +
                                                         std::to_string(id) + " is outside [0, " +
                                                         std::to_string(num_blocks) + ")");
    }
  }
  return ok_status();
}

}  // namespace agentrt
