// libFuzzer target: any bytes through load -> validate -> plan -> render must not crash, and
// every diagnostic of a parsed file must carry a place inside the file.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "workflows/loader.h"
#include "workflows/planner.h"
#include "workflows/validator.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace agentrt::workflows;
  const std::string text(reinterpret_cast<const char*>(data), size);
  LoadResult r = load_workflow(text, "fuzz.yaml");
  if (r.parsed) validate_workflow(r.workflow, r.diagnostics);
  int lines = 1;
  for (char c : text)
    lines += c == '\n';
  for (const auto& d : r.diagnostics.items())
    if (d.loc.line < 1 || d.loc.line > lines + 1 || d.loc.col < 1) std::abort();
  if (!r.ok()) return 0;
  (void)plan_workflow(r.workflow);
  auto lookup = [](const std::vector<std::string>& p) -> std::optional<Value> {
    return Value(p.back());
  };
  for (const auto& s : r.workflow.steps)
    (void)s.input.tpl.render(lookup);
  for (const auto& o : r.workflow.outputs)
    (void)o.value.tpl.render(lookup);
  return 0;
}
