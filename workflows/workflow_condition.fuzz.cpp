// libFuzzer target for `when:` conditions (condition.h): bytes up to the first NUL are a
// condition, the rest a value that every path resolves to (as text, and as a list of its
// lines; the path `missing` names nothing). Parse and evaluate must not crash; a parse
// error's offset lies inside the condition, and every reference lies inside it too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "workflows/condition.h"

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
  auto c = Condition::parse(text, &offset);
  if (!c.ok()) {
    check(offset <= text.size());
    return 0;
  }
  for (const auto& r : c->references()) {
    check(r.offset < text.size());
    check(!r.path.empty());
  }
  for (bool as_list : {false, true}) {
    auto lookup = [&](const std::vector<std::string>& path) -> std::optional<Value> {
      if (path.size() == 1 && path[0] == "missing") return std::nullopt;
      return as_list ? Value(Value(value).to_list()) : Value(value);
    };
    (void)c->evaluate(lookup);
  }
  return 0;
}
