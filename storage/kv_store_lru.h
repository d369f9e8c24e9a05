// KvStoreLru: sizes and recency of a KvStore's rows, in memory, for deleting the least
// recently used rows past KvStoreOptions::max_bytes. Not thread-safe (KvStore locks it).
#pragma once

#include <cstdint>
#include <iterator>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace agentrt::storage {

class KvStoreLru {
 public:
  // Records a use of `row` (now holding `bytes`), making it the most recently used.
  void touch(const std::string& row, std::uint64_t bytes) {
    auto it = rows_.find(row);
    if (it != rows_.end()) {
      total_ -= it->second.bytes;
      order_.erase(it->second.pos);
    }
    order_.push_back(row);
    rows_[row] = {bytes, std::prev(order_.end())};
    total_ += bytes;
  }
  void remove(const std::string& row) {
    auto it = rows_.find(row);
    if (it == rows_.end()) return;
    total_ -= it->second.bytes;
    order_.erase(it->second.pos);
    rows_.erase(it);
  }
  bool contains(const std::string& row) const { return rows_.count(row) != 0; }

  // The rows to delete, least recently used first, so that after writing `incoming` (row ->
  // bytes) the total is at most `max_bytes`; rows in `incoming` are never chosen. nullopt
  // when even deleting every other row leaves too much.
  std::optional<std::vector<std::string>> victims(
      const std::map<std::string, std::uint64_t>& incoming, std::uint64_t max_bytes) const {
    std::uint64_t total = total_;
    for (const auto& [row, bytes] : incoming) {
      auto it = rows_.find(row);
      total += bytes - (it == rows_.end() ? 0 : it->second.bytes);
    }
    std::vector<std::string> out;
    for (auto it = order_.begin(); it != order_.end() && total > max_bytes; ++it) {
      if (incoming.count(*it) != 0) continue;
      total -= rows_.at(*it).bytes;
      out.push_back(*it);
    }
    if (total > max_bytes) return std::nullopt;
    return out;
  }

  // Calls fn(row) for rows from the most recently used, while fn returns true.
  template <class Fn>
  void for_each_recent(Fn fn) const {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it)
      if (!fn(*it)) return;
  }

  std::uint64_t total_bytes() const { return total_; }
  std::size_t size() const { return rows_.size(); }

 private:
  struct Row {
    std::uint64_t bytes = 0;
    std::list<std::string>::iterator pos;
  };
  std::list<std::string> order_;  // front: least recently used
  std::unordered_map<std::string, Row> rows_;
  std::uint64_t total_ = 0;
};

}  // namespace agentrt::storage
