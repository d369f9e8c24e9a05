// TtlPolicy and DurationEstimator (the formula is in ttl_policy.h).
#include "actors/ttl_policy.h"

#include <algorithm>
#include <cmath>

namespace agentrt::actors {

void DurationEstimator::add(kv::Duration d) {
  if (window_ <= 0) return;
  if (values_.size() < static_cast<std::size_t>(window_)) {
    values_.push_back(d);
  } else {
    values_[next_] = d;
  }
  next_ = (next_ + 1) % static_cast<std::size_t>(window_);
}

kv::Duration DurationEstimator::quantile(double q) const {
  if (values_.empty()) return kv::Duration{0};
  std::vector<kv::Duration> v = values_;
  std::sort(v.begin(), v.end());
  const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size()));
  const std::size_t i = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  return v[std::min(i, v.size() - 1)];
}

void TtlPolicy::record(const std::string& tool, kv::Duration duration) {
  std::lock_guard lock(mu_);
  tools_.try_emplace(tool, opt_.window).first->second.add(duration);
}

void TtlPolicy::record_prefill(std::int64_t tokens, double seconds) {
  if (tokens <= 0 || seconds <= 0) return;
  const double spt = seconds / static_cast<double>(tokens);
  std::lock_guard lock(mu_);
  prefill_spt_ = prefill_spt_ < 0 ? spt : 0.9 * prefill_spt_ + 0.1 * spt;
}

kv::Duration TtlPolicy::predict(const std::string& tool) const {
  std::lock_guard lock(mu_);
  auto it = tools_.find(tool);
  if (it == tools_.end() || it->second.samples() < opt_.min_samples) return opt_.cold_start;
  return it->second.quantile(opt_.quantile);
}

TtlDecision TtlPolicy::decide(const TtlInputs& in) const {
  TtlDecision d;
  for (const auto& t : in.tools)
    d.predicted = std::max(d.predicted, predict(t));
  if (in.tools.empty()) d.predicted = opt_.cold_start;
  double spt = opt_.prefill_seconds_per_token;
  {
    std::lock_guard lock(mu_);
    if (prefill_spt_ > 0) spt = prefill_spt_;
  }
  d.recompute_seconds = static_cast<double>(in.context_tokens) * spt;
  const int total = std::max(1, in.total_blocks);
  d.pressure = std::clamp(1.0 - static_cast<double>(in.available_blocks) / total, 0.0, 1.0);
  const auto candidate =
      std::chrono::duration_cast<kv::Duration>(std::chrono::duration<double, std::nano>(
          opt_.margin * static_cast<double>(d.predicted.count()))) +
      opt_.slack;
  const double candidate_s = std::chrono::duration<double>(candidate).count();
  d.hold_seconds =
      d.pressure * (static_cast<double>(in.seq_blocks) / total) * candidate_s * opt_.hold_weight;
  if (d.recompute_seconds < d.hold_seconds) return d;  // ttl 0: recompute is cheaper
  const kv::Duration base = d.pressure > opt_.high_pressure ? d.predicted : candidate;
  d.ttl = std::clamp(base, opt_.min_ttl, opt_.max_ttl);
  return d;
}

kv::Duration TtlPolicy::prefetch_lead(std::int64_t blocks, std::size_t block_bytes) const {
  const double bytes =
      static_cast<double>(std::max<std::int64_t>(blocks, 0)) * static_cast<double>(block_bytes);
  const double rate = opt_.host_to_device_bytes_per_s > 0 ? opt_.host_to_device_bytes_per_s : 1.0;
  const auto copy = std::chrono::round<kv::Duration>(std::chrono::duration<double>(bytes / rate));
  return std::max(copy, opt_.min_prefetch_lead);
}

}  // namespace agentrt::actors
