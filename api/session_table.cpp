// SessionTable (the contract is in session_table.h). Pins and tombstones are small flat
// vectors scanned under one mutex: a server holds at most max_entries pins.
#include "api/session_table.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace agentrt::api {
namespace {

// Length-prefixed so that ("ab", "c") and ("a", "bc") hash differently.
void add_field(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

std::string hex_key(char kind, const std::string& material) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%c:%016llx", kind,
                static_cast<unsigned long long>(XXH3_64bits(material.data(), material.size())));
  return buf;
}

std::size_t common_prefix(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
  const auto n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i])
    ++i;
  return i;
}

std::string policy_key(const std::string& client, const std::string& model,
                       const std::string& tool) {
  return client + "|" + model + "|" + tool;
}

actors::TtlPolicyOptions policy_options(const SessionOptions& opt) {
  actors::TtlPolicyOptions p = opt.policy;
  p.cold_start = opt.ttl;
  p.max_ttl = opt.max_ttl;
  return p;
}

}  // namespace

std::optional<SessionMode> parse_session_mode(std::string_view text) {
  if (text == "predict") return SessionMode::predict;
  if (text == "off") return SessionMode::off;
  if (text == "fixed") return SessionMode::fixed;
  return std::nullopt;
}

const char* to_string(SessionMode mode) {
  switch (mode) {
    case SessionMode::predict:
      return "predict";
    case SessionMode::off:
      return "off";
    case SessionMode::fixed:
      return "fixed";
  }
  return "?";
}

std::string conversation_key(std::string_view model, const chat::Conversation& conversation) {
  std::string material;
  add_field(material, model);
  for (const auto& tool : conversation.tools) {
    add_field(material, tool.raw.is_null()
                            ? tool.name + "\n" + tool.description + "\n" + tool.parameters.dump()
                            : tool.raw.dump());
  }
  material += '|';
  for (const auto& m : conversation.messages) {
    add_field(material, chat::to_string(m.role));
    add_field(material, m.content);
    if (m.role == chat::Role::user) break;
  }
  return hex_key('c', material);
}

std::string explicit_session_key(std::string_view model, std::string_view session) {
  std::string material;
  add_field(material, model);
  add_field(material, session);
  return hex_key('s', material);
}

SessionTable::SessionTable(SessionOptions options, const kv::Clock* clock)
    : opt_(std::move(options)), policy_(policy_options(opt_)) {
  if (clock == nullptr) {
    owned_clock_ = std::make_unique<kv::SteadyClock>();
    clock = owned_clock_.get();
  }
  clock_ = clock;
}

std::vector<PausedTurn> SessionTable::put(PausedTurn turn) {
  std::vector<PausedTurn> cancel;
  std::lock_guard lock(mu_);
  turn.paused_at = clock_->now();
  if (opt_.mode == SessionMode::off || turn.ttl <= kv::Duration{0}) {
    bury_locked(turn, /*counts_late=*/false);
    cancel.push_back(std::move(turn));
    return cancel;
  }
  turn.ttl = std::min(turn.ttl, opt_.max_ttl);
  live_.push_back(std::move(turn));
  ++counters_.created;
  evict_locked(cancel);
  return cancel;
}

void SessionTable::evict_locked(std::vector<PausedTurn>& out) {
  while (live_.size() > opt_.max_entries) {
    auto oldest = std::min_element(live_.begin(), live_.end(), [](const auto& a, const auto& b) {
      return a.paused_at < b.paused_at;
    });
    bury_locked(*oldest, /*counts_late=*/false);
    ++counters_.evicted;
    out.push_back(std::move(*oldest));
    live_.erase(oldest);
  }
}

std::optional<PausedTurn> SessionTable::take(const std::string& key, const std::string& client,
                                             const std::vector<std::int32_t>& prompt) {
  std::lock_guard lock(mu_);
  const auto now = clock_->now();
  auto best = live_.end();
  std::size_t best_len = 0;
  for (auto it = live_.begin(); it != live_.end(); ++it) {
    if (it->key != key || it->client != client) continue;
    const auto len = common_prefix(it->tokens, prompt);
    if (best == live_.end() || len > best_len ||
        (len == best_len && it->paused_at > best->paused_at)) {
      best = it;
      best_len = len;
    }
  }
  if (best != live_.end()) {
    PausedTurn turn = std::move(*best);
    live_.erase(best);
    learn_locked(turn.client, turn.model, turn.tools, now - turn.paused_at);
    if (now < turn.paused_at + turn.ttl) {
      ++counters_.hits;
    } else {  // lapsed but not yet swept by expire()
      ++counters_.expired;
      ++counters_.late;
    }
    return turn;
  }
  // No live pin: the most recent tombstone of the key that the prompt can continue.
  auto grave = tombstones_.end();
  for (auto it = tombstones_.begin(); it != tombstones_.end(); ++it) {
    if (it->key != key || it->client != client || it->tokens > prompt.size()) continue;
    if (grave == tombstones_.end() || it->paused_at > grave->paused_at) grave = it;
  }
  if (grave != tombstones_.end()) {
    learn_locked(grave->client, grave->model, grave->tools, now - grave->paused_at);
    if (grave->counts_late) ++counters_.late;
    tombstones_.erase(grave);
  }
  return std::nullopt;
}

std::vector<PausedTurn> SessionTable::paused() const {
  std::lock_guard lock(mu_);
  return live_;
}

std::vector<PausedTurn> SessionTable::expire() {
  std::vector<PausedTurn> out;
  std::lock_guard lock(mu_);
  const auto now = clock_->now();
  for (auto it = live_.begin(); it != live_.end();) {
    if (now >= it->paused_at + it->ttl) {
      bury_locked(*it, /*counts_late=*/true);
      ++counters_.expired;
      out.push_back(std::move(*it));
      it = live_.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(tombstones_,
                [&](const Tombstone& t) { return now - t.paused_at >= opt_.tombstone_lifetime; });
  return out;
}

kv::Duration SessionTable::predict(const std::string& client, const std::string& model,
                                   const std::vector<std::string>& tools,
                                   std::optional<double> retain_s,
                                   const SessionPressure& pressure) const {
  if (opt_.mode == SessionMode::off) return kv::Duration{0};
  if (retain_s) {
    if (!std::isfinite(*retain_s) || *retain_s <= 0) return kv::Duration{0};
    const double max_s = std::chrono::duration<double>(opt_.max_ttl).count();
    return std::chrono::duration_cast<kv::Duration>(
        std::chrono::duration<double>(std::min(*retain_s, max_s)));
  }
  if (opt_.mode == SessionMode::fixed) return std::min(opt_.ttl, opt_.max_ttl);
  actors::TtlInputs in;
  in.tools.reserve(tools.size());
  for (const auto& t : tools)
    in.tools.push_back(policy_key(client, model, t));
  in.context_tokens = pressure.context_tokens;
  in.seq_blocks = pressure.seq_blocks;
  in.total_blocks = pressure.total_blocks;
  in.available_blocks = pressure.available_blocks;
  return policy_.decide(in).ttl;
}

void SessionTable::record_prefill(std::int64_t tokens, double seconds) {
  policy_.record_prefill(tokens, seconds);
}

SessionCounters SessionTable::metrics() const {
  std::lock_guard lock(mu_);
  SessionCounters c = counters_;
  c.active = static_cast<std::int64_t>(live_.size());
  c.pinned_tokens = 0;
  for (const auto& t : live_)
    c.pinned_tokens += static_cast<std::int64_t>(t.tokens.size());
  return c;
}

void SessionTable::learn_locked(const std::string& client, const std::string& model,
                                const std::vector<std::string>& tools, kv::Duration gap) {
  for (const auto& t : tools)
    policy_.record(policy_key(client, model, t), gap);
}

void SessionTable::bury_locked(const PausedTurn& turn, bool counts_late) {
  tombstones_.push_back(Tombstone{turn.key, turn.client, turn.model, turn.tools, turn.paused_at,
                                  turn.tokens.size(), counts_late});
  const std::size_t cap = std::max<std::size_t>(opt_.max_entries, 64);
  if (tombstones_.size() > cap) {
    auto oldest = std::min_element(
        tombstones_.begin(), tombstones_.end(),
        [](const Tombstone& a, const Tombstone& b) { return a.paused_at < b.paused_at; });
    tombstones_.erase(oldest);
  }
}

}  // namespace agentrt::api
