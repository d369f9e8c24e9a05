// Test support: a BlockMemory in plain vectors where each slot holds the token id written
// there (-1 when empty), so tests can check that a block table reads back its tokens.
#pragma once

#include <cstring>
#include <vector>

#include "engine/kv/block_memory.h"

namespace agentrt::kv::testing {

class FakeBlockMemory final : public BlockMemory {
 public:
  FakeBlockMemory(int num_blocks, int block_size)
      : bs_(block_size), slots_(static_cast<std::size_t>(num_blocks * block_size), -1) {}

  std::size_t block_bytes() const override {
    return sizeof(std::int32_t) * static_cast<std::size_t>(bs_);
  }
  Status copy(std::span<const std::pair<std::int32_t, std::int32_t>> pairs) override {
    for (auto [src, dst] : pairs) {
      for (int i = 0; i < bs_; ++i)
        slot(dst, i) = slot(src, i);
    }
    return ok_status();
  }
  Status read(std::int32_t id, std::span<std::byte> out) override {
    if (out.size() != block_bytes()) return make_error(ErrorCode::invalid_argument, "size");
    std::memcpy(out.data(), &slot(id, 0), out.size());
    return ok_status();
  }
  Status write(std::int32_t id, std::span<const std::byte> in) override {
    if (in.size() != block_bytes()) return make_error(ErrorCode::invalid_argument, "size");
    std::memcpy(&slot(id, 0), in.data(), in.size());
    return ok_status();
  }
  std::int32_t& slot(std::int32_t block, int i) {
    return slots_[static_cast<std::size_t>(block * bs_ + i)];
  }
  // What a forward step does: writes tokens at positions [start, start + n) of a table.
  void write_tokens(std::span<const std::int32_t> table, std::size_t start,
                    std::span<const std::int32_t> tokens) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const std::size_t p = start + i, bs = static_cast<std::size_t>(bs_);
      slot(table[p / bs], static_cast<int>(p % bs)) = tokens[i];
    }
  }
  // Whether positions [0, tokens.size()) of `table` hold `tokens`.
  bool holds(std::span<const std::int32_t> table, std::span<const std::int32_t> tokens) {
    const auto bs = static_cast<std::size_t>(bs_);
    for (std::size_t p = 0; p < tokens.size(); ++p) {
      if (p / bs >= table.size()) return false;
      if (slot(table[p / bs], static_cast<int>(p % bs)) != tokens[p]) return false;
    }
    return true;
  }

 private:
  int bs_;
  std::vector<std::int32_t> slots_;
};

}  // namespace agentrt::kv::testing
