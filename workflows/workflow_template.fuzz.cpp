// libFuzzer target for workflow templates: bytes up to the first NUL are a template, the
// rest a value that every path resolves to (as text, and as a list of its lines). Parse
// and render must not crash; a parse error's offset lies inside the template.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "workflows/template.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace agentrt::workflows;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = all.find('\0');
  const std::string_view text = all.substr(0, nul);
  const std::string value(nul == std::string_view::npos ? std::string_view() : all.substr(nul + 1));
  std::size_t offset = 0;
  auto t = Template::parse(text, &offset);
  if (!t.ok()) {
    check(offset <= text.size());
    return 0;
  }
  for (bool as_list : {false, true}) {
    auto lookup = [&](const std::vector<std::string>& path) -> std::optional<Value> {
      if (path.size() == 1 && path[0] == "missing") return std::nullopt;
      return as_list ? Value(Value(value).to_list()) : Value(value);
    };
    auto r = t->render(lookup);
    if (r.ok()) (void)r->to_text();
  }
  return 0;
}
