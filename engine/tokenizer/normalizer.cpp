#include "engine/tokenizer/normalizer.h"

#include "engine/tokenizer/nfc.h"

namespace agentrt::tokenizer {

bool Normalizer::apply(std::string_view text, std::string& out) const {
  bool changed = false;
  std::string next;
  for (const Step& step : steps_) {
    const std::string_view cur = changed ? std::string_view(out) : text;
    switch (step.kind) {
      case Kind::nfc:
        if (is_nfc_quick(cur)) continue;
        next = to_nfc(cur);
        break;
      case Kind::prepend:
        if (cur.empty()) continue;
        next = step.content;
        next.append(cur);
        break;
      case Kind::replace: {
        std::size_t hit = cur.find(step.pattern);
        if (hit == std::string_view::npos) continue;
        next.clear();
        std::size_t from = 0;
        for (; hit != std::string_view::npos; hit = cur.find(step.pattern, from)) {
          next.append(cur.substr(from, hit - from)).append(step.content);
          from = hit + step.pattern.size();
        }
        next.append(cur.substr(from));
        break;
      }
    }
    out.swap(next);
    changed = true;
  }
  return changed;
}

}  // namespace agentrt::tokenizer
