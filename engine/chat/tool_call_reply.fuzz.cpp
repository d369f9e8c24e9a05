// libFuzzer target for tool calls in generated text: parse_reply and ToolCallStream (fed
// in pieces whose sizes come from the first byte) for each tool-call format (hermes, Llama
// JSON, Mistral [TOOL_CALLS], gpt-oss harmony, none). Must not crash, and a hermes, Mistral
// or harmony stream that finishes cleanly reports as many calls as parse_reply when that
// succeeds (hermes: for replies without <think>).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/chat/tool_call_parser.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace agentrt::chat;
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 16;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (ToolCallFormat f :
       {ToolCallFormat::hermes, ToolCallFormat::llama_json, ToolCallFormat::mistral,
        ToolCallFormat::harmony, ToolCallFormat::none}) {
    auto whole = parse_reply(f, text);
    ToolCallStream stream(f);
    std::vector<StreamEvent> events;
    agentrt::Status s = agentrt::ok_status();
    for (std::size_t i = 0; i < text.size() && s.ok(); i += step)
      s = stream.feed(text.substr(i, step), events);
    if (s.ok()) s = stream.finish(events);
    // parse_reply skips everything before </think>; the stream does not look for it.
    if (s.ok() && whole.ok() && f == ToolCallFormat::hermes &&
        text.find("think>") == std::string_view::npos)
      check(stream.calls_completed() == static_cast<int>(whole->tool_calls.size()));
    if (s.ok() && whole.ok() && (f == ToolCallFormat::mistral || f == ToolCallFormat::harmony))
      check(stream.calls_completed() == static_cast<int>(whole->tool_calls.size()));
    if (f == ToolCallFormat::none) check(s.ok() && whole.ok() && whole->tool_calls.empty());
  }
  return 0;
}
