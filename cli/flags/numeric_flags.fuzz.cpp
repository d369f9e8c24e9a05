// libFuzzer target: the CLI's numeric flag parsing (cli/flags/). Any text must parse to a
// value inside the flag's bounds or to an invalid_argument error naming the flag, with the
// echoed value cut short; nothing may crash, overflow or accept an out-of-range value.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cli/flags/flag_limits.h"
#include "cli/flags/numeric_flag.h"
#include "cli/flags/resource_flags.h"
#include "cli/flags/sampling_flags.h"

namespace {

using namespace agentrt::cli::flags;

void require(bool ok) {
  if (!ok) std::abort();
}

template <class R>
void check_error(const R& r, std::string_view flag) {
  if (r.ok()) return;
  require(r.error().code == agentrt::ErrorCode::invalid_argument);
  require(r.error().message.rfind(std::string(flag) + ": ", 0) == 0);
  require(r.error().message.size() < 600);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto i = parse_int_flag("--n", text, {-7, 1000});
  check_error(i, "--n");
  if (i.ok()) require(*i >= -7 && *i <= 1000);
  check_error(parse_uint64_flag("--seed", text), "--seed");
  auto r = parse_real_flag("--top-p", text, {0.0, 1.0, true});
  check_error(r, "--top-p");
  if (r.ok()) require(std::isfinite(*r) && *r > 0.0 && *r <= 1.0);
  auto t = parse_threads_flag(text, 2);
  check_error(t, "--threads");
  if (t.ok()) require(*t >= 0 && *t <= max_threads(2));
  auto b = parse_kv_blocks_flag(text);
  check_error(b, "--kv-blocks");
  if (b.ok()) require(*b >= 0 && *b <= kMaxKvBlocksFlag);
  SamplingFlags f;
  f.max_tokens = f.temperature = f.top_k = f.min_p = f.repetition_penalty = text;
  f.presence_penalty = f.frequency_penalty = f.logprobs = text;
  f.stop_token_ids = {text};
  agentrt::sampling::SamplingParams p;
  if (apply_sampling_flags(f, p).ok()) require(p.validate().ok());
  return 0;
}
