#include "workflows/output_schema_loader.h"

#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "engine/common/echo.h"
#include "engine/grammar/schema_compiler.h"
#include "workflows/yaml_json.h"

namespace agentrt::workflows {
namespace {

using Json = nlohmann::ordered_json;

// "~1" -> "/", "~0" -> "~" (RFC 6901).
std::string unescape_token(const std::string& t) {
  std::string out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '~' && i + 1 < t.size() && (t[i + 1] == '0' || t[i + 1] == '1')) {
      out += t[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      out += t[i];
    }
  }
  return out;
}

// The place of the JSON pointer at the start of a compiler message ("/properties/a/x: ...")
// inside the YAML schema `root`: the key of the last token found (a keyword's key), else the
// deepest value reached.
SourceLoc locate(YamlReader& r, const YAML::Node& root, const std::string& message) {
  SourceLoc best = r.loc(root);
  if (message.empty() || message[0] != '/') return best;
  const std::string pointer = message.substr(0, message.find(": "));
  YAML::Node node = root;
  std::size_t pos = 1;
  while (pos <= pointer.size()) {
    const std::size_t end = std::min(pointer.find('/', pos), pointer.size());
    const std::string token = unescape_token(pointer.substr(pos, end - pos));
    pos = end + 1;
    if (node.IsMap()) {
      bool found = false;
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == token) {
          best = r.loc(it->first);
          node = it->second;
          found = true;
          break;
        }
      }
      if (!found) return best;
    } else if (node.IsSequence()) {
      char* stop = nullptr;
      const unsigned long idx = std::strtoul(token.c_str(), &stop, 10);
      if (token.empty() || *stop != '\0' || idx >= node.size()) return best;
      node = node[idx];
      best = r.loc(node);
    } else {
      return best;
    }
  }
  return best;
}

}  // namespace

void load_output_schema(YamlReader& r, const YamlEntry& f, const std::string& what, Step& s) {
  const bool text = f.value.IsScalar();
  auto read = read_yaml_json(r, f.value, what, kMaxOutputSchemaDepth, kMaxOutputSchemaNodes);
  if (!read) return;
  Json& j = *read;
  const Json* props = j.is_object() && j.contains("properties") ? &j["properties"] : nullptr;
  OutputSchemaSpec o;
  o.json = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  o.loc = r.loc(f.value);
  if (props && props->is_object())
    for (const auto& [key, value] : props->items())
      if (key != "output") o.fields.push_back(key);
  // Kept even when refused below: later steps' references to its fields are not errors too.
  auto compiled = grammar::compile_schema(j);
  if (!compiled.ok()) {
    const std::string& m = compiled.error().message;
    r.diags().error(text ? r.loc(f.value) : locate(r, f.value, m), what + ": " + echo_value(m));
  } else if (!props || !props->is_object() || props->empty() ||
             j.value("type", Json("object")) != Json("object")) {
    r.diags().error(r.loc(f.value),
                    what +
                        ": must be an object schema with 'properties' (they become the "
                        "step's fields)");
  }
  s.output_schema = std::move(o);
}

}  // namespace agentrt::workflows
