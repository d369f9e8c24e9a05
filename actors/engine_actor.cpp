#include "actors/engine_actor.h"

namespace agentrt::actors {

caf::behavior engine_actor(caf::stateful_actor<EngineActorState>* self,
                           std::shared_ptr<EngineLoop> loop) {
  self->state.loop = std::move(loop);
  return {
      [self](generate_atom, GenerateMsg& msg) -> GenerateReply {
        auto id = self->state.loop->submit(std::move(msg));
        if (!id.ok()) return GenerateReply{0, id.error()};
        return GenerateReply{*id, std::nullopt};
      },
      [self](resume_atom, ResumeMsg& msg) -> GenerateReply {
        const RequestId id = msg.id;
        auto st = self->state.loop->resume(std::move(msg));
        if (!st.ok()) return GenerateReply{id, st.error()};
        return GenerateReply{id, std::nullopt};
      },
      [self](cancel_atom, RequestId id) { self->state.loop->cancel(id); },
      [self](metrics_atom) -> RuntimeMetrics { return self->state.loop->metrics(); },
  };
}

}  // namespace agentrt::actors
