// libFuzzer target for workflow input values (`--input NAME=VALUE`): the first byte picks
// the input (string, int, number, bool or list), the rest is its value, through
// resolve_inputs and the list readers. Must not crash, messages stay short (echoed values
// are cut), and every accepted list respects the caps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/echo.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

const agentrt::workflows::Workflow& workflow() {
  static const agentrt::workflows::Workflow wf =
      agentrt::workflows::load_workflow(R"(agents: {a: {}}
inputs:
  s: { type: string, default: x }
  i: { type: int, default: 1 }
  n: { type: number, default: 1.5 }
  b: { type: bool, default: true }
  xs: { type: list, default: [a, b] }
steps: [{ id: s, agent: a, input: x }]
)",
                                        "fuzz.yaml")
          .workflow;
  return wf;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace agentrt::workflows;
  if (size == 0) return 0;
  static const char* kNames[] = {"s", "i", "n", "b", "xs", "unknown"};
  const std::string name = kNames[data[0] % 6];
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  Diagnostics d("fuzz.yaml");
  InputValues v = resolve_inputs(workflow(), {{name, text}}, d);
  for (const auto& item : d.items())
    check(item.message.size() <= 4 * agentrt::kMaxEchoBytes + 400);
  if (d.empty() && name == "xs") check(v.at("xs").list().size() <= kMaxListItems);
  (void)Value(text).to_list();
  auto items = Value(text).to_items("fuzz");
  if (items.ok()) check(items->size() <= kMaxListItems);
  return 0;
}
