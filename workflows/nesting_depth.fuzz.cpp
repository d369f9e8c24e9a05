// libFuzzer target for nesting depth: builds text nested up to tens of thousands of levels
// deep from a short input (a unit of [ { " , ] } pieces repeated up to 65535 times, closed or
// left open) and feeds it to every JSON and YAML entry point of chat and workflows: chat JSON
// (tool parameters, call arguments, the whole body), tool calls in replies and streams, list
// and string inputs, list filters of templates, YAML flow nesting and deep string defaults.
// Nothing may recurse on that depth: a crash here is a stack overflow.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/chat/chat_template.h"
#include "engine/chat/conversation.h"
#include "engine/chat/python_json.h"
#include "engine/chat/tool_call_parser.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"
#include "workflows/template.h"
#include "workflows/validator.h"

namespace {

using namespace agentrt;
constexpr std::size_t kMaxText = 128u << 10;  // 128K levels of "[": far past every limit

// data[0]: flags (bit 0: close what was opened); data[1..2]: repeats; the rest: the unit,
// each byte one piece.
std::string deep_text(const std::uint8_t* data, std::size_t size) {
  static const char* kPieces[] = {"[", "{\"a\": ", "\"", "{", "[1, ", "\\", " ", "]", "}", ","};
  if (size < 4) return "[";
  const std::size_t repeats = 1 + (static_cast<std::size_t>(data[1]) << 8 | data[2]);
  std::string unit;
  for (std::size_t i = 3; i < size && unit.size() < 64; ++i)
    unit += kPieces[data[i] % 10];
  std::string out;
  for (std::size_t r = 0; r < repeats && out.size() + unit.size() <= kMaxText; ++r)
    out += unit;
  if (data[0] & 1) {
    std::string closers;
    for (char c : out)
      if (c == '[' || c == '{') closers.push_back(c == '[' ? ']' : '}');
    out.append(closers.rbegin(), closers.rend());
  }
  return out;
}

void chat_entry_points(const std::string& deep) {
  using namespace agentrt::chat;
  const std::string body =
      R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": )"
      R"([{"function": {"name": "f", "arguments": )" +
      deep + R"(}}]}], "tools": [{"function": {"name": "f", "parameters": {"a": )" + deep + "}}}]}";
  for (const std::string* text : {&body, &deep}) {
    auto conv = parse_conversation_json(*text, "fuzz.json");
    if (!conv.ok()) continue;
    RenderOptions options;
    options.date_string = "26 Jul 2024";
    for (Family f : {Family::chatml_qwen, Family::llama3, Family::llama3_tools})
      (void)render(f, *conv, options);
    for (const auto& t : conv->tools)
      (void)to_python_json(t.raw, 2);
  }
  const std::string qwen = "<tool_call>{\"name\": \"f\", \"arguments\": " + deep + "}</tool_call>";
  const std::string llama = "{\"name\": \"f\", \"parameters\": " + deep + "}";
  for (auto [family, reply] : {std::pair{Family::chatml_qwen, &qwen}, {Family::llama3, &llama}}) {
    (void)parse_reply(family, *reply);
    ToolCallStream stream(family);
    std::vector<StreamEvent> events;
    Status s = ok_status();
    for (std::size_t i = 0; i < reply->size() && s.ok(); i += 4096)
      s = stream.feed(std::string_view(*reply).substr(i, 4096), events);
    if (s.ok()) (void)stream.finish(events);
  }
}

void workflow_entry_points(const std::string& deep) {
  using namespace agentrt::workflows;
  static const Workflow wf = load_workflow(R"(agents: {a: {}}
inputs:
  s: { type: string, default: x }
  xs: { type: list, default: [a] }
steps: [{ id: s, agent: a, input: x }]
)",
                                           "fuzz.yaml")
                                 .workflow;
  Diagnostics d("fuzz.yaml");
  (void)resolve_inputs(wf, {{"s", deep}, {"xs", deep}}, d);
  (void)Value(deep).to_list();
  (void)Value(deep).to_items("fuzz");
  for (const char* text : {"{{ x | first }}", "{{ x | lines | join(\",\") }}", "{{ x | json }}"}) {
    auto t = Template::parse(text);
    if (t.ok()) (void)t->render([&](const std::vector<std::string>&) { return Value(deep); });
  }
  std::string quoted;  // a single-quoted YAML scalar
  quoted.reserve(deep.size() + 16);
  for (char c : deep) {
    quoted.push_back(c);
    if (c == '\'') quoted.push_back(c);
  }
  for (const std::string& yaml :
       {"agents: {a: {}}\nsteps: " + deep + "\n",
        "agents: {a: {}}\ninputs:\n  s: { type: string, default: '" + quoted +
            "' }\nsteps: [{ id: s, agent: a, input: x, map: { over: '{{ inputs.s }}' } }]\n"}) {
    LoadResult r = load_workflow(yaml, "fuzz.yaml");
    if (r.parsed) validate_workflow(r.workflow, r.diagnostics);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string deep = deep_text(data, size);
  chat_entry_points(deep);
  workflow_entry_points(deep);
  return 0;
}
