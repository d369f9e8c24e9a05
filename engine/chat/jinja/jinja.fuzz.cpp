// libFuzzer target for the Jinja interpreter: any bytes as a template, parsed and rendered
// with a small fixed context (messages with a tool call, tools, the usual globals) under
// tight limits. Must never crash, hang or leak; a failure must be an error with a message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/chat/jinja/template.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "  Be brief.  "},
      {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "f", "arguments": {"a": 1, "b": [1.5, "x", null, true]}}}]},
      {"role": "tool", "content": "{\"ok\": true}", "tool_call_id": "c1"}
    ],
    "tools": [{"type": "function", "function": {"name": "f", "description": "d",
      "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>",
    "date_string": "26 Jul 2024", "enable_thinking": false
  })");
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace agentrt::chat::jinja;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = Template::parse(text, "fuzz.jinja");
  if (!t.ok()) {
    check(!t.error().message.empty());
    return 0;
  }
  Limits limits;
  limits.max_output_bytes = 1 << 16;
  limits.max_items = 1 << 12;
  limits.max_iterations = 1 << 14;
  auto out = t->render(context(), limits);
  if (out.ok())
    check(out->size() <= limits.max_output_bytes);
  else
    check(!out.error().message.empty());
  return 0;
}
