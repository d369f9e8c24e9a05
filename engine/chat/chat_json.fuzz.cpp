// libFuzzer target for chat JSON (`agentrt generate --chat`, later REST bodies): any bytes
// through parse_conversation_json, then every family's renderer and the Python-style JSON
// writers. Must not crash; an accepted conversation must render or fail with an error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/chat/chat_template.h"
#include "engine/chat/conversation.h"
#include "engine/chat/python_json.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace agentrt::chat;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto conv = parse_conversation_json(text, "fuzz.json");
  if (!conv.ok()) {
    check(!conv.error().message.empty());
    return 0;
  }
  for (const ToolDefinition& t : conv->tools) {
    (void)to_python_json(t.raw);
    (void)to_python_json(t.raw, 4);
  }
  for (const Message& m : conv->messages)
    for (const ToolCall& c : m.tool_calls)
      (void)to_python_json(c.arguments);
  RenderOptions options;
  options.date_string = "26 Jul 2024";  // not today's: runs must not depend on the clock
  for (Family f : {Family::chatml_qwen, Family::llama3, Family::llama3_tools}) {
    options.add_generation_prompt = !options.add_generation_prompt;
    auto r = render(f, *conv, options);
    if (!r.ok()) check(!r.error().message.empty());
  }
  return 0;
}
