#include "engine/kv_reuse.h"

#include <string>

namespace agentrt {

const char* to_string(KvReuse reuse) {
  return reuse == KvReuse::blend ? "blend" : "exact";
}

Result<KvReuse> parse_kv_reuse(std::string_view name) {
  if (name == "exact") return KvReuse::exact;
  if (name == "blend") return KvReuse::blend;
  return make_error(ErrorCode::invalid_argument,
                    "kv_reuse '" + std::string(name) + "': expected exact or blend");
}

}  // namespace agentrt
