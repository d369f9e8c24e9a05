// The tool actor: runs one call of one tool, then quits. Spawned detached (a thread of
// its own), since tools block (HTTP, processes, slow functions). A throw or an error
// becomes a ToolReply with ok = false; the caller enforces the timeout (a request
// timeout), so a hung tool cannot stall its agent, only its own thread.
#pragma once

#include <caf/all.hpp>

#include <memory>

#include "actors/messages.h"
#include "actors/tool.h"

namespace agentrt::actors {

// Handler: (invoke_atom, ToolArgs) -> ToolReply.
caf::behavior tool_actor(caf::event_based_actor* self, std::shared_ptr<Tool> tool);

}  // namespace agentrt::actors
