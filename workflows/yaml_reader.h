// YamlReader: typed access to yaml-cpp nodes that reports every problem (unknown key, wrong
// type, out-of-range value) as a located diagnostic instead of throwing. Internal to the
// loader; yaml-cpp types do not appear in the library's public headers.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "workflows/diagnostic.h"
#include "workflows/workflow.h"

namespace agentrt::workflows {

struct YamlEntry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class YamlEntries {
 public:
  const YamlEntry* get(std::string_view key) const;
  const std::vector<YamlEntry>& all() const { return items_; }
  std::vector<YamlEntry> items_;
};

class YamlReader {
 public:
  YamlReader(std::string_view source, Diagnostics& diags) : source_(source), d_(diags) {}

  SourceLoc loc(const YAML::Node& n) const;
  Diagnostics& diags() { return d_; }

  // The entries of a mapping whose keys must be among `allowed` (empty: any key); unknown
  // and duplicate keys are reported. nullopt (reported) when `n` is not a mapping.
  std::optional<YamlEntries> mapping(const YAML::Node& n, const std::string& what,
                                     std::initializer_list<std::string_view> allowed);
  // Reports a missing required key at the mapping `n`.
  void require(const YamlEntries& e, const YAML::Node& n, std::string_view key,
               const std::string& what);

  bool read(const YamlEntry& e, std::string& out, const std::string& what);
  bool read(const YamlEntry& e, int& out, const std::string& what, int lo, int hi);
  bool read(const YamlEntry& e, double& out, const std::string& what, double lo, double hi);
  bool read(const YamlEntry& e, bool& out, const std::string& what);
  bool read(const YamlEntry& e, Ref& out, const std::string& what);
  // A sequence of names, or one name.
  bool read(const YamlEntry& e, std::vector<Ref>& out, const std::string& what);
  // A string parsed as a template; syntax errors are placed inside the string if possible.
  bool read(const YamlEntry& e, TemplateText& out, const std::string& what);
  // A string that must compile as a regex.
  bool read_regex(const YamlEntry& e, std::string& out, SourceLoc& loc, const std::string& what);
  // A name usable in templates: [A-Za-z_][A-Za-z0-9_-]*.
  bool check_name(const YAML::Node& n, const std::string& name, const std::string& what);

  // Column offset of `text` (n's scalar) from loc(n) when it appears verbatim on one line
  // of the file (TemplateText::verbatim_shift); -1 otherwise.
  int verbatim_shift(const YAML::Node& n, const std::string& text) const;

 private:
  bool scalar(const YAML::Node& n, const std::string& what, const char* expected);

  std::string_view source_;
  Diagnostics& d_;
};

}  // namespace agentrt::workflows
