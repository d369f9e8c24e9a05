#include "workflows/yaml_json.h"

#include <cmath>
#include <cstdlib>

#include "engine/common/echo.h"

namespace agentrt::workflows {
namespace {

using Json = nlohmann::ordered_json;

struct Caps {
  int max_depth = 0;
  int max_nodes = 0;
};

bool to_json(YamlReader& r, const YAML::Node& n, Json& out, const std::string& what, int depth,
             int& budget, const Caps& caps) {
  if (--budget < 0) {  // aliases can repeat a subtree exponentially often
    if (budget == -1)
      r.diags().error(r.loc(n), what + ": more than " + std::to_string(caps.max_nodes) +
                                    " values (counting each alias' expansion)");
    return false;
  }
  if (depth > caps.max_depth) {
    r.diags().error(r.loc(n),
                    what + ": nested deeper than " + std::to_string(caps.max_depth) + " levels");
    return false;
  }
  if (n.IsNull()) {
    out = nullptr;
    return true;
  }
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    long long i = 0;
    double d = 0;
    if (n.Tag() == "!") {  // quoted
      out = s;
    } else if (s == "true" || s == "false") {
      out = s == "true";
    } else if (!s.empty() && YAML::convert<long long>::decode(n, i) &&
               s.find_first_of(".eE") == std::string::npos) {
      out = i;
    } else if (!s.empty() &&
               (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '.') &&
               YAML::convert<double>::decode(n, d) && std::isfinite(d)) {
      out = d;
    } else {
      out = s;
    }
    return true;
  }
  if (n.IsSequence()) {
    out = Json::array();
    for (std::size_t i = 0; i < n.size(); ++i) {
      Json item;
      if (!to_json(r, n[i], item, what + "[" + std::to_string(i) + "]", depth + 1, budget, caps))
        return false;
      out.push_back(std::move(item));
    }
    return true;
  }
  if (n.IsMap()) {
    out = Json::object();
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar()) {
        r.diags().error(r.loc(it->first), what + ": keys must be strings");
        return false;
      }
      Json v;
      const std::string key = it->first.Scalar();
      if (!to_json(r, it->second, v, what + "." + key, depth + 1, budget, caps)) return false;
      out[key] = std::move(v);
    }
    return true;
  }
  r.diags().error(r.loc(n), what + ": unsupported YAML node");
  return false;
}

}  // namespace

std::optional<Json> read_yaml_json(YamlReader& r, const YAML::Node& node, const std::string& what,
                                   int max_depth, int max_nodes) {
  if (node.IsScalar()) {
    Json j = Json::parse(node.Scalar(), nullptr, false);
    if (j.is_discarded()) {
      r.diags().error(r.loc(node), what + ": expected a mapping or JSON object text, got '" +
                                       echo_value(node.Scalar(), 40) + "'");
      return std::nullopt;
    }
    return j;
  }
  Json j;
  int budget = max_nodes;
  if (!to_json(r, node, j, what, 0, budget, Caps{max_depth, max_nodes})) return std::nullopt;
  return j;
}

}  // namespace agentrt::workflows
