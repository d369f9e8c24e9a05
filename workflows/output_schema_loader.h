// Reading a step's `output_schema:` (a JSON schema as a YAML mapping, or as JSON text):
// checked by the structured-output compiler (engine/grammar/schema_compiler.h) at load
// time, so an unsupported keyword is a located error in the YAML file. Internal to the
// loader; docs/workflows.md documents the key.
#pragma once

#include <string>

#include "workflows/workflow.h"
#include "workflows/yaml_reader.h"

namespace agentrt::workflows {

inline constexpr int kMaxOutputSchemaDepth = 64;      // nesting of `output_schema`
inline constexpr int kMaxOutputSchemaNodes = 100000;  // values, aliases expanded

// Fills s.output_schema from the entry, or reports through `r`: not a mapping or JSON
// object text, a schema the compiler refuses (at the offending key when the schema is a
// YAML mapping: "steps[0].output_schema: /properties/a/pattern: unsupported keyword
// 'pattern'"), a schema whose root is not an object with `properties`.
void load_output_schema(YamlReader& r, const YamlEntry& f, const std::string& what, Step& s);

}  // namespace agentrt::workflows
