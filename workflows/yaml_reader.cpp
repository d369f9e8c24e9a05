#include "workflows/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "engine/common/echo.h"
#include "workflows/pattern.h"

namespace agentrt::workflows {
namespace {

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar: {
      std::string s = n.Scalar();
      if (s.size() > 40) s = s.substr(0, 37) + "...";
      return "'" + s + "'";
    }
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "an undefined node";
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string suggest(std::string_view key, std::initializer_list<std::string_view> allowed) {
  std::string best;
  std::size_t best_d = 3;
  for (auto a : allowed) {
    const auto d = edit_distance(key, a);
    if (d < best_d) best_d = d, best = std::string(a);
  }
  if (!best.empty()) return " (did you mean '" + best + "'?)";
  std::string list;
  for (auto a : allowed)
    list += (list.empty() ? "" : ", ") + std::string(a);
  return " (allowed: " + list + ")";
}

}  // namespace

const YamlEntry* YamlEntries::get(std::string_view key) const {
  for (const auto& e : items_)
    if (e.key == key) return &e;
  return nullptr;
}

SourceLoc YamlReader::loc(const YAML::Node& n) const {
  if (!n.IsDefined()) return {};
  const YAML::Mark m = n.Mark();
  if (m.is_null() || m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

std::optional<YamlEntries> YamlReader::mapping(const YAML::Node& n, const std::string& what,
                                               std::initializer_list<std::string_view> allowed) {
  if (!n.IsMap()) {
    d_.error(loc(n), what + ": expected a mapping, got " + describe(n));
    return std::nullopt;
  }
  YamlEntries out;
  std::set<std::string> seen;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node k = it->first;
    if (!k.IsScalar()) {
      d_.error(loc(k), what + ": keys must be plain names, got " + describe(k));
      continue;
    }
    const std::string key = k.Scalar();
    if (!seen.insert(key).second) {
      d_.error(loc(k), "duplicate key '" + echo_value(key) + "' in " + what);
      continue;
    }
    if (allowed.size() > 0 && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      d_.error(loc(k), "unknown key '" + echo_value(key) + "' in " + what + suggest(key, allowed));
      continue;
    }
    out.items_.push_back({key, k, it->second});
  }
  return out;
}

void YamlReader::require(const YamlEntries& e, const YAML::Node& n, std::string_view key,
                         const std::string& what) {
  if (!e.get(key)) d_.error(loc(n), what + ": missing required key '" + std::string(key) + "'");
}

bool YamlReader::scalar(const YAML::Node& n, const std::string& what, const char* expected) {
  if (n.IsScalar()) return true;
  d_.error(loc(n), what + ": expected " + expected + ", got " + describe(n));
  return false;
}

bool YamlReader::read(const YamlEntry& e, std::string& out, const std::string& what) {
  if (!scalar(e.value, what, "a string")) return false;
  out = e.value.Scalar();
  return true;
}

bool YamlReader::read(const YamlEntry& e, int& out, const std::string& what, int lo, int hi) {
  if (!scalar(e.value, what, "an integer")) return false;
  long long v = 0;
  if (!YAML::convert<long long>::decode(e.value, v)) {
    d_.error(loc(e.value), what + ": expected an integer, got " + describe(e.value));
    return false;
  }
  if (v < lo || v > hi) {
    d_.error(loc(e.value), what + ": must be in [" + std::to_string(lo) + ", " +
                               std::to_string(hi) + "], got " + std::to_string(v));
    return false;
  }
  out = static_cast<int>(v);
  return true;
}

bool YamlReader::read(const YamlEntry& e, double& out, const std::string& what, double lo,
                      double hi) {
  if (!scalar(e.value, what, "a number")) return false;
  double v = 0;
  if (!YAML::convert<double>::decode(e.value, v) || !std::isfinite(v)) {
    d_.error(loc(e.value), what + ": expected a number, got " + describe(e.value));
    return false;
  }
  if (v < lo || v > hi) {
    d_.error(loc(e.value), what + ": must be in [" + std::to_string(lo).substr(0, 6) + ", " +
                               std::to_string(hi).substr(0, 6) + "], got " + e.value.Scalar());
    return false;
  }
  out = v;
  return true;
}

bool YamlReader::read(const YamlEntry& e, bool& out, const std::string& what) {
  if (!scalar(e.value, what, "true or false")) return false;
  if (!YAML::convert<bool>::decode(e.value, out)) {
    d_.error(loc(e.value), what + ": expected true or false, got " + describe(e.value));
    return false;
  }
  return true;
}

bool YamlReader::read(const YamlEntry& e, Ref& out, const std::string& what) {
  if (!scalar(e.value, what, "a name")) return false;
  out = {e.value.Scalar(), loc(e.value)};
  return true;
}

bool YamlReader::read(const YamlEntry& e, std::vector<Ref>& out, const std::string& what) {
  if (e.value.IsScalar()) {
    out.push_back({e.value.Scalar(), loc(e.value)});
    return true;
  }
  if (!e.value.IsSequence()) {
    d_.error(loc(e.value), what + ": expected a list of names, got " + describe(e.value));
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < e.value.size(); ++i) {
    const YAML::Node item = e.value[i];
    if (!item.IsScalar()) {
      d_.error(loc(item),
               what + "[" + std::to_string(i) + "]: expected a name, got " + describe(item));
      ok = false;
      continue;
    }
    out.push_back({item.Scalar(), loc(item)});
  }
  return ok;
}

int YamlReader::verbatim_shift(const YAML::Node& n, const std::string& text) const {
  const YAML::Mark m = n.Mark();
  if (m.is_null() || m.pos < 0 || text.find('\n') != std::string::npos) return -1;
  const auto pos = static_cast<std::size_t>(m.pos);
  if (source_.substr(pos, text.size()) == text) return 0;
  if (pos < source_.size() && (source_[pos] == '"' || source_[pos] == '\'') &&
      source_.substr(pos + 1, text.size()) == text)
    return 1;
  return -1;
}

bool YamlReader::read(const YamlEntry& e, TemplateText& out, const std::string& what) {
  if (!scalar(e.value, what, "a string")) return false;
  const std::string text = e.value.Scalar();
  out.loc = loc(e.value);
  out.verbatim_shift = verbatim_shift(e.value, text);
  std::size_t offset = 0;
  auto t = Template::parse(text, &offset);
  if (!t.ok()) {
    d_.error(out.loc_of(offset), what + ": " + t.error().message);
    return false;
  }
  out.tpl = std::move(*t);
  return true;
}

bool YamlReader::read_regex(const YamlEntry& e, std::string& out, SourceLoc& where,
                            const std::string& what) {
  if (!read(e, out, what)) return false;
  where = loc(e.value);
  auto p = Pattern::compile(out);
  if (!p.ok()) {
    d_.error(where, what + ": " + p.error().message);
    return false;
  }
  return true;
}

bool YamlReader::check_name(const YAML::Node& n, const std::string& name, const std::string& what) {
  const bool ok = !name.empty() &&
                  (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_') &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                  });
  if (!ok)
    d_.error(loc(n), what + " '" + echo_value(name) +
                         "' is not a valid name (letters, digits, '_' and '-', not first digit)");
  return ok;
}

}  // namespace agentrt::workflows
