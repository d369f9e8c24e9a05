#include "actors/tool_actor.h"

#include <chrono>
#include <exception>

namespace agentrt::actors {

caf::behavior tool_actor(caf::event_based_actor* self, std::shared_ptr<Tool> tool) {
  return {
      [self, tool](invoke_atom, const ToolArgs& args) -> ToolReply {
        const auto t0 = std::chrono::steady_clock::now();
        ToolReply reply;
        try {
          auto r = tool->invoke(args.arguments);
          reply.ok = r.ok();
          reply.text = r.ok() ? *r : r.error().message;
        } catch (const std::exception& e) {
          reply.text = std::string("tool threw: ") + e.what();
        } catch (...) {
          reply.text = "tool threw a non-standard exception";
        }
        reply.duration = std::chrono::steady_clock::now() - t0;
        self->quit();
        return reply;
      },
  };
}

}  // namespace agentrt::actors
