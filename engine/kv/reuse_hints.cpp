#include "engine/kv/reuse_hints.h"

namespace agentrt::kv {

namespace {

using Before = std::unordered_map<BlockKey, std::int32_t, BlockKeyHash>;

}  // namespace

void ReuseHints::add(const OwnerHint& h) {
  for (const BlockKey& k : h.keys)
    ++by_key_[k][h.steps];
}

void ReuseHints::remove(const OwnerHint& h) {
  for (const BlockKey& k : h.keys) {
    auto it = by_key_.find(k);
    if (it == by_key_.end()) continue;
    auto s = it->second.find(h.steps);
    if (s != it->second.end() && --s->second == 0) it->second.erase(s);
    if (it->second.empty()) by_key_.erase(it);
  }
}

std::int32_t ReuseHints::next_use(const BlockKey& key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? kFarNextUse : it->second.begin()->first;
}

ReuseHints::Changes ReuseHints::set(HintOwner owner, std::span<const BlockKey> keys,
                                    std::int32_t steps) {
  OwnerHint next{std::vector<BlockKey>(keys.begin(), keys.end()), steps};
  // Every key either hint names, with its hint before the change (each key once).
  Before before;
  auto old = owners_.find(owner);
  if (old != owners_.end()) {
    for (const BlockKey& k : old->second.keys)
      before.emplace(k, next_use(k));
    remove(old->second);
  }
  for (const BlockKey& k : next.keys)
    before.emplace(k, next_use(k));
  add(next);
  owners_[owner] = std::move(next);
  Changes out;
  for (const auto& [k, was] : before) {
    if (next_use(k) != was) out.emplace_back(k, next_use(k));
  }
  return out;
}

ReuseHints::Changes ReuseHints::clear(HintOwner owner) {
  auto it = owners_.find(owner);
  if (it == owners_.end()) return {};
  Before before;
  for (const BlockKey& k : it->second.keys)
    before.emplace(k, next_use(k));
  remove(it->second);
  owners_.erase(it);
  Changes out;
  for (const auto& [k, was] : before) {
    if (next_use(k) != was) out.emplace_back(k, next_use(k));
  }
  return out;
}

}  // namespace agentrt::kv
