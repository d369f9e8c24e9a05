#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

namespace agentrt::sampling {
namespace {

// Uniform in [0, 1) from the top 53 bits: identical on every standard library.
double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// Sorts token ids and drops duplicates and ids outside the vocabulary.
void unique_tokens(std::vector<std::int32_t>& ids, std::size_t vocab) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::erase_if(ids,
                [vocab](std::int32_t t) { return t < 0 || static_cast<std::size_t>(t) >= vocab; });
}

// HF RepetitionPenaltyLogitsProcessor: each distinct seen token once.
void apply_repetition_penalty(std::vector<float>& w, float penalty,
                              std::span<const std::int32_t> prompt,
                              std::span<const std::int32_t> output,
                              std::vector<std::int32_t>& scratch) {
  scratch.assign(prompt.begin(), prompt.end());
  scratch.insert(scratch.end(), output.begin(), output.end());
  unique_tokens(scratch, w.size());
  for (std::int32_t t : scratch) {
    float& l = w[static_cast<std::size_t>(t)];
    l = l > 0.0f ? l / penalty : l * penalty;
  }
}

// OpenAI: logit -= count * frequency + (count > 0) * presence, over output tokens.
void apply_openai_penalties(std::vector<float>& w, float presence, float frequency,
                            std::span<const std::int32_t> output,
                            std::vector<std::int32_t>& scratch) {
  scratch.assign(output.begin(), output.end());
  std::sort(scratch.begin(), scratch.end());
  for (std::size_t i = 0; i < scratch.size();) {
    std::size_t j = i;
    while (j < scratch.size() && scratch[j] == scratch[i])
      ++j;
    const std::int32_t t = scratch[i];
    if (t >= 0 && static_cast<std::size_t>(t) < w.size()) {
      w[static_cast<std::size_t>(t)] -= static_cast<float>(j - i) * frequency + presence;
    }
    i = j;
  }
}

// Highest value; ties go to the lowest id.
std::int32_t argmax(std::span<const float> v) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i] > v[best]) best = i;
  }
  return static_cast<std::int32_t>(best);
}

// Orders ids by value descending, ties by id ascending.
struct ByValueDesc {
  const float* v;
  bool operator()(std::int32_t a, std::int32_t b) const {
    return v[a] > v[b] || (v[a] == v[b] && a < b);
  }
};

// Fills the chosen token's logprob and the top-k alternatives from the raw logits.
void fill_logprobs(std::span<const float> logits, int k, SampledToken& out,
                   std::vector<std::int32_t>& scratch) {
  double mx = -std::numeric_limits<double>::infinity();
  for (float l : logits)
    mx = std::max(mx, static_cast<double>(l));
  double sum = 0.0;
  for (float l : logits)
    sum += std::exp(static_cast<double>(l) - mx);
  const double lse = mx + std::log(sum);
  out.logprob = static_cast<float>(static_cast<double>(logits[out.token]) - lse);
  if (k <= 0) return;
  const std::size_t n = std::min(static_cast<std::size_t>(k), logits.size());
  scratch.resize(logits.size());
  std::iota(scratch.begin(), scratch.end(), 0);
  std::partial_sort(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(n),
                    scratch.end(), ByValueDesc{logits.data()});
  out.top.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t t = scratch[i];
    out.top.push_back({t, static_cast<float>(static_cast<double>(logits[t]) - lse)});
  }
}

// Keeps the smallest prefix of `ids` (sorted on demand, best first) whose probability mass
// reaches top_p. Sorts only as much as needed: the nucleus is usually small.
void cut_top_p(std::vector<std::int32_t>& ids, const float* w, float top_p) {
  const ByValueDesc cmp{w};
  std::size_t sorted = std::min<std::size_t>(ids.size(), 256);
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(sorted), ids.end(), cmp);
  const float mx = w[ids[0]];
  double total = 0.0;
  for (std::int32_t t : ids)
    total += std::exp(static_cast<double>(w[t] - mx));
  const double target = static_cast<double>(top_p) * total;
  double cum = 0.0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i == sorted) {
      std::sort(ids.begin() + static_cast<std::ptrdiff_t>(i), ids.end(), cmp);
      sorted = ids.size();
    }
    cum += std::exp(static_cast<double>(w[ids[i]] - mx));
    if (cum >= target) {
      ids.resize(i + 1);
      return;
    }
  }
}

// Draws one id from softmax(w) restricted to ids (or to every id when ids is null),
// skipping values below `floor`.
std::int32_t draw(const std::vector<float>& w, const std::vector<std::int32_t>* ids, float floor,
                  std::mt19937_64& rng) {
  const std::size_t n = ids ? ids->size() : w.size();
  auto at = [&](std::size_t i) { return ids ? (*ids)[i] : static_cast<std::int32_t>(i); };
  float mx = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < n; ++i)
    mx = std::max(mx, w[at(i)]);
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const float l = w[at(i)];
    if (l >= floor) total += std::exp(static_cast<double>(l - mx));
  }
  const double u = uniform01(rng) * total;
  double cum = 0.0;
  std::int32_t last = at(0);
  for (std::size_t i = 0; i < n; ++i) {
    const float l = w[at(i)];
    // Masked ids (-inf, from a constraint) never win, not even by rounding at the top.
    if (l < floor || l == -std::numeric_limits<float>::infinity()) continue;
    last = at(i);
    cum += std::exp(static_cast<double>(l - mx));
    if (u < cum) return last;
  }
  return last;  // rounding at the very top of the range
}

}  // namespace

std::int64_t first_non_finite(std::span<const float> logits) {
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (!std::isfinite(logits[i])) return static_cast<std::int64_t>(i);
  }
  return -1;
}

std::optional<std::string> check_logits(std::span<const float> logits, std::int64_t step) {
  const std::int64_t bad = first_non_finite(logits);
  if (bad < 0) return std::nullopt;
  const float v = logits[static_cast<std::size_t>(bad)];
  return "non-finite logits at step " + std::to_string(step) + " (token " + std::to_string(bad) +
         ": " +
         (std::isnan(v) ? "nan"
          : v > 0       ? "inf"
                        : "-inf") +
         ")";
}

Sampler::Sampler(const SamplingParams& params, std::uint64_t default_seed)
    : params_(params), rng_(params.seed.value_or(default_seed)) {
  if (params_.constraint) cursor_.emplace(params_.constraint);
}

std::span<const std::uint64_t> Sampler::allowed_tokens(std::span<const std::int32_t> output,
                                                       std::size_t vocab) {
  if (!cursor_) return {};
  cursor_->sync(output);
  if (!cursor_->compute_mask(vocab, params_.stop_token_ids)) {
    const std::int32_t end = cursor_->fallback_token(params_.stop_token_ids);
    if (end < 0 || static_cast<std::size_t>(end) >= vocab) return {};
    fallback_.reset(vocab);
    fallback_.set(end);
    return fallback_.words();
  }
  return cursor_->last_mask().words();
}

SampledToken Sampler::sample(std::span<const float> logits, std::span<const std::int32_t> prompt,
                             std::span<const std::int32_t> output) {
  SampledToken result;
  if (logits.empty()) return result;
  work_.assign(logits.begin(), logits.end());
  if (params_.repetition_penalty != 1.0f) {
    apply_repetition_penalty(work_, params_.repetition_penalty, prompt, output, index_);
  }
  if (params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f) {
    apply_openai_penalties(work_, params_.presence_penalty, params_.frequency_penalty, output,
                           index_);
  }
  if (cursor_) {
    cursor_->sync(output);
    if (!cursor_->mask_logits(work_, params_.stop_token_ids)) {
      const std::int32_t end = cursor_->fallback_token(params_.stop_token_ids);
      result.token = end >= 0 ? end : argmax(work_);
      if (params_.logprobs >= 0) fill_logprobs(logits, params_.logprobs, result, index_);
      return result;
    }
  }
  if (params_.greedy()) {
    result.token = argmax(work_);
  } else {
    for (float& l : work_)
      l /= params_.temperature;
    const std::size_t vocab = work_.size();
    const bool use_k = params_.top_k > 0 && static_cast<std::size_t>(params_.top_k) < vocab;
    const bool use_p = params_.top_p < 1.0f;
    float floor = -std::numeric_limits<float>::infinity();
    if (params_.min_p > 0.0f) {
      // p >= min_p * p_max  <=>  logit >= max_logit + log(min_p); the max always survives.
      floor = work_[static_cast<std::size_t>(argmax(work_))] + std::log(params_.min_p);
    }
    if (!use_k && !use_p) {
      result.token = draw(work_, nullptr, floor, rng_);
    } else {
      index_.resize(vocab);
      std::iota(index_.begin(), index_.end(), 0);
      if (use_k) {
        const auto k = static_cast<std::ptrdiff_t>(params_.top_k);
        std::nth_element(index_.begin(), index_.begin() + k - 1, index_.end(),
                         ByValueDesc{work_.data()});
        index_.resize(static_cast<std::size_t>(k));
      }
      if (use_p) cut_top_p(index_, work_.data(), params_.top_p);
      result.token = draw(work_, &index_, floor, rng_);
    }
  }
  if (params_.logprobs >= 0) fill_logprobs(logits, params_.logprobs, result, index_);
  return result;
}

}  // namespace agentrt::sampling
