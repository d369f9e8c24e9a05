#include "workflows/kv_reuse_loader.h"

#include "engine/common/echo.h"

namespace agentrt::workflows {

void load_kv_reuse(YamlReader& r, const YamlEntry& f, const std::string& what, KvReuseSpec& spec) {
  if (f.key == "kv_reuse") {
    std::string mode;
    if (!r.read(f, mode, what + ".kv_reuse")) return;
    if (mode == "exact" || mode == "blend") {
      spec.mode = mode == "blend" ? KvReuseMode::blend : KvReuseMode::exact;
      spec.loc = r.loc(f.value);
      return;
    }
    r.diags().error(r.loc(f.value),
                    what + ".kv_reuse: must be exact or blend, got '" + echo_value(mode) + "'");
  }
  double fraction = 0;
  if (f.key == "blend_recompute" && r.read(f, fraction, what + ".blend_recompute", 0.0, 1.0))
    spec.blend_recompute = fraction;
  bool anchors = false;
  if (f.key == "blend_anchors" && r.read(f, anchors, what + ".blend_anchors"))
    spec.blend_anchors = anchors;
}

void check_kv_reuse(YamlReader& r, const YamlEntries& e, const std::string& what,
                    const KvReuseSpec& spec) {
  for (const char* key : {"blend_recompute", "blend_anchors"}) {
    if (const auto* b = e.get(key); b && spec.mode == KvReuseMode::exact)
      r.diags().error(r.loc(b->key_node), what + ": " + key +
                                              " applies to kv_reuse: blend only (this one says "
                                              "exact)");
  }
}

}  // namespace agentrt::workflows
