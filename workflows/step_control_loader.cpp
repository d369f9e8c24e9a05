#include "workflows/step_control_loader.h"

#include <cmath>
#include <cstdlib>

#include "engine/common/echo.h"
#include "workflows/tool_loader.h"

namespace agentrt::workflows {
namespace {

void read_condition(YamlReader& r, const YamlEntry& f, const std::string& what, Step& s) {
  if (!f.value.IsScalar()) {
    r.diags().error(r.loc(f.value), what +
                                        ": expected a condition such as "
                                        "steps.ID.answer == \"yes\"");
    return;
  }
  ConditionText c;
  const std::string text = f.value.Scalar();
  c.loc = r.loc(f.value);
  c.verbatim_shift = r.verbatim_shift(f.value, text);
  std::size_t offset = 0;
  auto parsed = Condition::parse(text, &offset);
  if (!parsed.ok()) {
    const SourceLoc at =
        c.verbatim_shift < 0
            ? c.loc
            : SourceLoc{c.loc.line, c.loc.col + c.verbatim_shift + static_cast<int>(offset)};
    r.diags().error(at, what + ": " + parsed.error().message);
    return;
  }
  c.cond = std::move(*parsed);
  s.when = std::move(c);
}

// A duration in [1 ms, max_ms]: "30s", "500ms", "2m", "1h", or a number of seconds.
void read_limit(YamlReader& r, const YamlEntry& f, const std::string& what, int max_ms,
                const char* range, int& out) {
  const std::string text = f.value.IsScalar() ? f.value.Scalar() : std::string();
  std::optional<int> ms;
  if (!text.empty() && text.size() <= 32 && text.back() == 'h') {  // hours
    char* end = nullptr;
    const double h = std::strtod(text.c_str(), &end);
    if (end == text.c_str() + text.size() - 1 && std::isfinite(h) && h > 0 &&
        h * 3600000.0 <= max_ms)
      ms = static_cast<int>(std::llround(h * 3600000.0));
  } else {
    ms = parse_duration_ms(text, max_ms);
  }
  if (!ms) {
    r.diags().error(r.loc(f.value),
                    what + ": expected a duration from " + range +
                        " (30s, 500ms, 2m, 1h, or seconds), got '" +
                        echo_value(f.value.IsScalar() ? f.value.Scalar() : "?", 40) + "'");
    return;
  }
  out = *ms;
}

}  // namespace

void load_step_control(YamlReader& r, const YamlEntry& f, const std::string& what, Step& s) {
  if (f.key == "when") read_condition(r, f, what + ".when", s);
  if (f.key == "timeout")
    read_limit(r, f, what + ".timeout", Step::kMaxTimeoutMs, "1ms to 24h", s.timeout_ms);
  if (f.key == "backoff")
    read_limit(r, f, what + ".backoff", Step::kMaxBackoffMs, "1ms to 1h", s.backoff_ms);
  if (f.key == "retries") r.read(f, s.retries, what + ".retries", 0, Step::kMaxRetries);
}

void check_step_control(YamlReader& r, const YamlEntries& e, const std::string& what,
                        const Step& s) {
  if (const auto* b = e.get("backoff"); b && s.retries == 0)
    r.diags().error(r.loc(b->key_node),
                    what + ": backoff is the wait between retries; set retries too");
}

}  // namespace agentrt::workflows
