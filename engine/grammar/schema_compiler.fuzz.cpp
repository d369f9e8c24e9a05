// libFuzzer target: compile_schema on arbitrary JSON, then drive the matcher with arbitrary
// bytes and check that a tiny vocabulary's token mask agrees with advancing token by token.
// Input: schema text, a NUL byte, then output bytes. Never crashes, never hangs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/grammar/matcher.h"
#include "engine/grammar/schema_compiler.h"
#include "engine/grammar/token_masker.h"

namespace {

using agentrt::grammar::MatchState;
using agentrt::grammar::TokenVocabulary;

// Every single byte, plus a few multi-byte tokens that cross JSON structure.
const TokenVocabulary& vocabulary() {
  static const TokenVocabulary v = [] {
    std::vector<std::string> bytes;
    for (int b = 0; b < 256; ++b)
      bytes.emplace_back(1, static_cast<char>(b));
    for (const char* t : {"\":", "\",\"", "{\"", "\"}", "true", "null", "12", "\\u00", "],[",
                          "\xc3\xa9", "\xe2\x82", "\xac\""})
      bytes.emplace_back(t);
    bytes.emplace_back();  // the end token: no bytes
    const auto end = static_cast<std::int32_t>(bytes.size() - 1);
    return TokenVocabulary(std::move(bytes), {end});
  }();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find('\0');
  const std::string_view schema = input.substr(0, split);
  const std::string_view output =
      split == std::string_view::npos ? std::string_view() : input.substr(split + 1);
  agentrt::grammar::CompileLimits limits;
  limits.max_values = 2048;
  auto grammar = agentrt::grammar::compile_schema_text(schema, limits);
  if (!grammar.ok()) return 0;
  const TokenVocabulary& vocab = vocabulary();
  MatchState state(**grammar);
  agentrt::sampling::TokenMask mask;
  for (std::size_t i = 0; i < output.size(); ++i) {
    if (i % 16 == 0) {  // the mask must hold exactly the tokens that advance
      mask.reset(static_cast<std::size_t>(vocab.size()));
      agentrt::grammar::fill_token_mask(vocab, state, mask);
      for (std::int32_t t = 0; t < vocab.size(); ++t) {
        const std::string& b = vocab.bytes(t);
        bool ok = b.empty() ? state.complete() : false;
        if (!b.empty()) {
          MatchState probe = state;
          ok = probe.advance(b);
        }
        if (mask.test(t) != ok) __builtin_trap();
      }
    }
    MatchState next = state;
    if (!next.advance(static_cast<std::uint8_t>(output[i]))) continue;  // skip refused bytes
    state = next;
  }
  (void)state.complete();
  return 0;
}
