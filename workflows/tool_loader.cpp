// The tools section of a workflow (see tool_loader.h).
#include "workflows/tool_loader.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "engine/common/echo.h"
#include "workflows/yaml_json.h"

namespace agentrt::workflows {
namespace {

using Json = nlohmann::ordered_json;

// A schema given as a YAML mapping or as JSON text; it must be an object schema.
void read_schema(YamlReader& r, const YamlEntry& f, const std::string& what, ToolSpec& t) {
  auto read = read_yaml_json(r, f.value, what, kMaxToolSchemaDepth, kMaxToolSchemaNodes);
  if (!read) return;
  const Json& j = *read;
  if (!j.is_object() || j.value("type", Json()) != Json("object")) {
    r.diags().error(r.loc(f.value),
                    what + ": must be a JSON schema of type object (the tool's arguments)");
    return;
  }
  t.schema = j.dump();
}

bool read_argv(YamlReader& r, const YamlEntry& f, const std::string& what,
               std::vector<std::string>& out) {
  if (!f.value.IsSequence() || f.value.size() == 0) {
    r.diags().error(r.loc(f.value), what +
                                        ": expected a non-empty list [program, args...] (no "
                                        "shell: one string per argument)");
    return false;
  }
  for (std::size_t i = 0; i < f.value.size(); ++i) {
    const YAML::Node a = f.value[i];
    if (!a.IsScalar() || (i == 0 && a.Scalar().empty())) {
      r.diags().error(r.loc(a), what + "[" + std::to_string(i) + "]: expected " +
                                    (i == 0 ? "the program's name" : "a string"));
      return false;
    }
    out.push_back(a.Scalar());
  }
  return true;
}

void read_duration(YamlReader& r, const YamlEntry& f, const std::string& what, int& out) {
  if (!f.value.IsScalar()) {
    r.diags().error(r.loc(f.value), what + ": expected a duration such as 10s or 500ms");
    return;
  }
  auto ms = parse_duration_ms(f.value.Scalar(), kMaxToolTimeoutMs);
  if (!ms) {
    r.diags().error(r.loc(f.value), what +
                                        ": expected a duration from 1ms to 1h (10s, 500ms, "
                                        "2m, or seconds), got '" +
                                        echo_value(f.value.Scalar(), 40) + "'");
    return;
  }
  out = *ms;
}

void read_mcp(YamlReader& r, const YamlEntry& x, const std::string& what, ToolSpec& t) {
  auto e = r.mapping(x.value, what, {"command", "tools"});
  if (!e) return;
  r.require(*e, x.value, "command", what);
  if (const auto* c = e->get("command")) read_argv(r, *c, what + ".command", t.command);
  std::vector<Ref> names;
  if (const auto* f = e->get("tools"); f && r.read(*f, names, what + ".tools")) {
    if (names.empty()) r.diags().error(r.loc(f->value), what + ".tools: the list is empty");
    for (auto& n : names) {
      if (std::find(t.mcp_tools.begin(), t.mcp_tools.end(), n.name) != t.mcp_tools.end())
        r.diags().error(n.loc, what + ".tools: '" + echo_value(n.name) + "' is listed twice");
      else
        t.mcp_tools.push_back(std::move(n.name));
    }
  }
}

// Keys that only some kinds take: reported where written.
struct KindKey {
  const char* key;
  bool builtin_http, builtin_command, command, mcp;
};
constexpr KindKey kKindKeys[] = {
    {"allow_hosts", true, false, false, false},   {"argv", false, true, false, false},
    {"append_args", false, true, false, false},   {"schema", false, false, true, false},
    {"max_output_bytes", true, true, true, true},
};

std::string kind_name(const ToolSpec& t) {
  if (t.kind == ToolKind::builtin) return "builtin: " + t.builtin;
  return t.kind == ToolKind::command ? "command" : "mcp";
}

bool key_fits(const KindKey& k, const ToolSpec& t) {
  switch (t.kind) {
    case ToolKind::builtin:
      return (t.builtin == "http" && k.builtin_http) ||
             (t.builtin == "command" && k.builtin_command);
    case ToolKind::command:
      return k.command;
    case ToolKind::mcp:
      return k.mcp;
  }
  return false;
}

}  // namespace

std::optional<int> parse_duration_ms(const std::string& text, int max_ms) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(v) || v <= 0) return std::nullopt;
  const std::string unit(end);
  double ms = 0;
  if (unit == "ms")
    ms = v;
  else if (unit == "s" || unit.empty())
    ms = v * 1000;
  else if (unit == "m")
    ms = v * 60000;
  else
    return std::nullopt;
  if (ms < 1 || ms > max_ms) return std::nullopt;
  return static_cast<int>(std::llround(ms));
}

void load_tool(YamlReader& r, const YamlEntry& x, const std::string& what, ToolSpec& t) {
  auto e = r.mapping(
      x.value, what,
      {"builtin", "command", "mcp", "description", "timeout", "retries", "backoff", "concurrency",
       "allow_hosts", "argv", "append_args", "schema", "max_output_bytes"});
  if (!e) return;
  const YamlEntry* kind = nullptr;
  for (const char* k : {"builtin", "command", "mcp"}) {
    const YamlEntry* f = e->get(k);
    if (!f) continue;
    if (kind) {
      r.diags().error(r.loc(f->key_node), what + ": a tool has one of builtin, command or mcp; '" +
                                              kind->key + "' is given already");
      continue;
    }
    kind = f;
  }
  if (!kind) {
    r.diags().error(r.loc(x.value), what +
                                        ": missing 'builtin', 'command' or 'mcp' (what the "
                                        "tool runs)");
    return;
  }
  if (kind->key == "builtin") {
    t.kind = ToolKind::builtin;
    if (r.read(*kind, t.builtin, what + ".builtin")) t.builtin_loc = r.loc(kind->value);
  } else if (kind->key == "command") {
    t.kind = ToolKind::command;
    read_argv(r, *kind, what + ".command", t.command);
    if (!e->get("schema"))
      r.diags().error(r.loc(x.value), what +
                                          ": a command tool needs 'schema' (the JSON schema "
                                          "of its arguments)");
  } else {
    t.kind = ToolKind::mcp;
    read_mcp(r, *kind, what + ".mcp", t);
  }
  for (const auto& f : e->all()) {
    const std::string w = what + "." + f.key;
    for (const auto& k : kKindKeys) {
      if (f.key != k.key || key_fits(k, t)) continue;
      r.diags().error(r.loc(f.key_node), w + ": not a setting of this tool (" + kind_name(t) + ")" +
                                             (t.kind == ToolKind::mcp && f.key == "schema"
                                                  ? " (an MCP server gives each tool's schema)"
                                                  : ""));
    }
    if (f.key == "description") r.read(f, t.description, w);
    if (f.key == "timeout") read_duration(r, f, w, t.timeout_ms);
    if (f.key == "backoff") read_duration(r, f, w, t.backoff_ms);
    if (f.key == "retries") r.read(f, t.retries, w, 0, kMaxToolRetries);
    if (f.key == "concurrency") r.read(f, t.concurrency, w, 0, kMaxToolConcurrency);
    if (f.key == "max_output_bytes") r.read(f, t.max_output_bytes, w, 1, kMaxToolOutputBytes);
    if (f.key == "append_args") r.read(f, t.append_args, w);
    if (f.key == "argv" && key_fits(kKindKeys[1], t)) read_argv(r, f, w, t.command);
    if (f.key == "schema" && t.kind == ToolKind::command) read_schema(r, f, w, t);
    if (f.key == "allow_hosts" && key_fits(kKindKeys[0], t)) {
      std::vector<Ref> hosts;
      if (r.read(f, hosts, w)) {
        for (auto& h : hosts)
          t.allow_hosts.push_back(std::move(h.name));
        if (t.allow_hosts.empty()) r.diags().error(r.loc(f.value), w + ": the list is empty");
      }
    }
  }
  if (t.kind == ToolKind::builtin && t.builtin == "command" && !e->get("argv"))
    r.diags().error(r.loc(x.value), what +
                                        ": builtin: command needs 'argv' (the program and "
                                        "its arguments, no shell)");
}

}  // namespace agentrt::workflows
