#include "cli/flags/sampling_flags.h"

#include <cstdint>
#include <limits>

#include "cli/flags/flag_limits.h"
#include "cli/flags/numeric_flag.h"

namespace agentrt::cli::flags {
namespace {

static_assert(kMaxStopTokenIdFlags < static_cast<std::int64_t>(sampling::kMaxStopTokenIds));

// Parses `text` (when given) as an integer flag into `out`.
Status set_int(std::string_view flag, const std::optional<std::string>& text, IntRange range,
               int& out) {
  if (!text) return ok_status();
  auto v = parse_int_flag(flag, *text, range);
  if (!v.ok()) return v.error();
  out = static_cast<int>(*v);
  return ok_status();
}

Status set_real(std::string_view flag, const std::optional<std::string>& text, RealRange range,
                float& out) {
  if (!text) return ok_status();
  auto v = parse_float_flag(flag, *text, range);
  if (!v.ok()) return v.error();
  out = *v;
  return ok_status();
}

Status set_stop_token_ids(const std::vector<std::string>& texts, std::vector<std::int32_t>& out) {
  if (static_cast<std::int64_t>(texts.size()) > kMaxStopTokenIdFlags) {
    return make_error(ErrorCode::invalid_argument, "--stop-token-id: at most " +
                                                       std::to_string(kMaxStopTokenIdFlags) +
                                                       " ids, got " + std::to_string(texts.size()));
  }
  for (const auto& t : texts) {
    auto v = parse_int_flag("--stop-token-id", t, {0, std::numeric_limits<std::int32_t>::max()});
    if (!v.ok()) return v.error();
    out.push_back(static_cast<std::int32_t>(*v));
  }
  return ok_status();
}

}  // namespace

Status apply_sampling_flags(const SamplingFlags& f, sampling::SamplingParams& p) {
  AGENTRT_TRY(set_int("--max-tokens", f.max_tokens, {1, kMaxTokensLimit}, p.max_tokens));
  AGENTRT_TRY(set_real("--temperature", f.temperature, {0.0, kMaxTemperature}, p.temperature));
  AGENTRT_TRY(set_int("--top-k", f.top_k, {0, kMaxTopK}, p.top_k));
  AGENTRT_TRY(set_real("--top-p", f.top_p, {0.0, 1.0, true}, p.top_p));
  AGENTRT_TRY(set_real("--min-p", f.min_p, {0.0, 1.0}, p.min_p));
  AGENTRT_TRY(set_real("--repetition-penalty", f.repetition_penalty,
                       {0.0, kMaxRepetitionPenalty, true}, p.repetition_penalty));
  AGENTRT_TRY(set_real("--presence-penalty", f.presence_penalty, {-kMaxAbsPenalty, kMaxAbsPenalty},
                       p.presence_penalty));
  AGENTRT_TRY(set_real("--frequency-penalty", f.frequency_penalty,
                       {-kMaxAbsPenalty, kMaxAbsPenalty}, p.frequency_penalty));
  AGENTRT_TRY(set_int("--logprobs", f.logprobs, {0, kMaxLogprobs}, p.logprobs));
  if (f.seed) {
    auto seed = parse_uint64_flag("--seed", *f.seed);
    if (!seed.ok()) return seed.error();
    p.seed = *seed;
  }
  return set_stop_token_ids(f.stop_token_ids, p.stop_token_ids);
}

}  // namespace agentrt::cli::flags
