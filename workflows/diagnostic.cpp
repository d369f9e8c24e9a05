#include "workflows/diagnostic.h"

#include <algorithm>

namespace agentrt::workflows {

std::string Diagnostics::format(const Diagnostic& d) const {
  if (!d.loc.known()) return file_ + ": " + d.message;
  return file_ + ":" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) + ": " +
         d.message;
}

std::string Diagnostics::to_string() const {
  std::vector<const Diagnostic*> sorted;
  for (const auto& d : items_)
    sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic* a, const Diagnostic* b) {
    return a->loc.line != b->loc.line ? a->loc.line < b->loc.line : a->loc.col < b->loc.col;
  });
  std::string out;
  for (const auto* d : sorted)
    out += format(*d) + "\n";
  return out;
}

}  // namespace agentrt::workflows
