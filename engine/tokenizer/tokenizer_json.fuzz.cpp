// libFuzzer target for tokenizer.json: any bytes through Tokenizer::from_json; a tokenizer
// that loads must encode and decode a few fixed texts (with and without special tokens)
// without crashing, and streaming them through IncrementalDecoder must give exactly what
// decode gives. FUZZ_DEBUG=1 prints load errors.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using agentrt::tokenizer::IncrementalDecoder;
  using agentrt::tokenizer::Tokenizer;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tok = Tokenizer::from_json(text, "fuzz.json");
  if (!tok.ok()) {
    if (std::getenv("FUZZ_DEBUG")) std::fprintf(stderr, "%s\n", tok.error().to_string().c_str());
    return 0;
  }
  for (std::string_view sample :
       {std::string_view("Hello world 123, ça va? <|im_start|>"),
        std::string_view("\xff\xfe bytes\n\n  tabs\t"),
        std::string_view("  \xe2\x96\x81Hello<s> w\xc3\xb6rld 😀 <unk>")}) {
    for (bool special : {false, true}) {
      const auto ids = tok->encode(sample, special);
      std::string raw;
      (void)tok->decode_bytes(ids, false, raw);
      const auto decoded = tok->decode(ids, true);
      IncrementalDecoder stream(*tok, true);
      std::string streamed;
      bool ok = true;
      for (std::int32_t id : ids) {
        auto piece = stream.push(id);
        if (!piece.ok()) {
          ok = false;
          break;
        }
        streamed += *piece;
      }
      streamed += stream.finish();
      if (ok && decoded.ok() && streamed != *decoded) __builtin_trap();
    }
  }
  return 0;
}
