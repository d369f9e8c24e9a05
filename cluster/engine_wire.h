// Conversions between the engine actor's messages (actors/messages.h: GenerateMsg, ResumeMsg,
// GenerateReply, TokenBatch) and their wire forms (wire.h's Wire* types, with the other wire
// messages), so that a coordinator can route agent turns and best-of samples to a worker
// node's engine actor one by one. The local messages hold what cannot cross a wire (a
// compiled constraint, std::optional, floats); their wire forms hold:
//   - floats as their IEEE bit patterns (std::uint32_t): CAF 0.17's float serializer loops
//     forever on an infinity, so no float or double is ever inspected;
//   - optionals as has_X + X; durations as int64 nanoseconds;
//   - a structured-output constraint as the compact JSON text of its schema, which the
//     receiving node compiles over its own vocabulary (SchemaConstraints);
//   - subscribers as caf::actor handles, which CAF's middleman serializes as proxies.
// to_wire fails on what cannot be sent; from_wire checks everything a peer could get wrong
// and names the field ("generate: /request/params/top_p: must be in (0, 1], got inf").
// Strings and lists are capped (wire_caps.h) while CAF deserializes.
#pragma once

#include <caf/all.hpp>

#include "actors/messages.h"
#include "cluster/schema_constraints.h"
#include "cluster/wire.h"
#include "engine/common/result.h"

namespace agentrt::cluster {

// to_wire: errors (unsupported) for a constraint that is not a grammar::JsonSchemaConstraint
// with its schema text; (invalid_argument) for a list over its wire cap. Any thread.
Result<WireGenerate> to_wire(const actors::GenerateMsg& m);
Result<WireResume> to_wire(const actors::ResumeMsg& m);
WireReply to_wire(const actors::GenerateReply& m);
WireTokenBatch to_wire(const actors::TokenBatch& m);

// from_wire: the local message, or invalid_argument naming the message and the field of
// the first thing a peer got wrong; a schema that does not compile is the compiler's error
// with the field's context. Constraints come from (and are cached in) `schemas`.
Result<actors::GenerateMsg> from_wire(WireGenerate m, const SchemaConstraints& schemas);
Result<actors::ResumeMsg> from_wire(WireResume m, const SchemaConstraints& schemas);
Result<actors::GenerateReply> from_wire(WireReply m);
Result<actors::TokenBatch> from_wire(WireTokenBatch m);

// Registers the types above (both ends must); configure_wire calls it.
void configure_engine_wire(caf::actor_system_config& cfg);

}  // namespace agentrt::cluster
