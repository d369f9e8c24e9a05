// JSON values written in a workflow's YAML (tool `schema`, step `output_schema`): either a
// YAML mapping or sequence, or a scalar holding JSON text.
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "workflows/yaml_reader.h"

namespace agentrt::workflows {

// The value of `node` as JSON. A mapping or sequence converts with its key order kept: plain
// scalars become booleans, integers or finite numbers when they read as one, null stays
// null, quoted scalars stay strings. A scalar is parsed as JSON text. At most `max_depth`
// levels and `max_nodes` values (each alias' expansion counted). Errors are reported at their
// node, prefixed with `what`; then nullopt.
std::optional<nlohmann::ordered_json> read_yaml_json(YamlReader& r, const YAML::Node& node,
                                                     const std::string& what, int max_depth,
                                                     int max_nodes);

}  // namespace agentrt::workflows
