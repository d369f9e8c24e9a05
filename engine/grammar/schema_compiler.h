// compile_schema: a JSON schema to a SchemaGrammar for constrained decoding.
//
// Supported: type (one name or a list), properties, required, additionalProperties, items
// (one schema), minItems, maxItems, enum, const, anyOf and oneOf (alternatives must start
// with different bytes: different JSON types, or enums that do not share a first byte),
// $ref to "#", "#/$defs/..." or "#/definitions/..." (recursion allowed), true/false
// schemas. Annotations (title, description, default, examples, format, $comment, $schema,
// $id, deprecated, readOnly, writeOnly) are ignored. Any other keyword is an error naming
// its JSON pointer: "/properties/a/pattern: unsupported keyword 'pattern'".
//
// What the grammar generates: compact JSON (no whitespace); objects with declared
// properties hold only those (and required names not declared, with additionalProperties'
// schema), in any order, each at most once, every required one present; numbers of at
// most 18 integer and 18 fraction digits and 2 exponent digits; \u escapes outside
// U+D000..U+DFFF (no surrogate pairs). oneOf is taken as anyOf: its alternatives start
// with different bytes, so at most one matches.
//
// MatchState refuses '{' and '[' past kMaxFrames open values (matcher.h); a schema whose
// only finite values nest deeper (or that has none, like a required self-reference)
// leaves the output unfinishable, and the sampler then ends it (sampler.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <nlohmann/json.hpp>

#include "engine/common/result.h"
#include "engine/grammar/schema_grammar.h"

namespace agentrt::grammar {

// Caps checked before anything is built (a schema may come from a request).
struct CompileLimits {
  std::size_t max_values = 8192;             // JSON values in the schema document
  std::size_t max_depth = 64;                // nesting of the schema document
  std::size_t max_properties = 64;           // per object
  std::size_t max_literals = 1024;           // enum members
  std::size_t max_literal_bytes = 1u << 16;  // all enum/const texts together
  std::uint32_t max_min_items = 1024;
};

// Errors (invalid_argument for malformed schemas or caps, unsupported for keywords or
// combinations this compiler cannot honour) start with the JSON pointer of the culprit.
Result<std::shared_ptr<const SchemaGrammar>> compile_schema(const nlohmann::ordered_json& schema,
                                                            const CompileLimits& limits = {});

// Parses `text` as JSON, then compile_schema. Parse errors are ErrorCode::parse.
Result<std::shared_ptr<const SchemaGrammar>> compile_schema_text(std::string_view text,
                                                                 const CompileLimits& limits = {});

}  // namespace agentrt::grammar
