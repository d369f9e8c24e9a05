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
      [self](pause_atom, RequestId id, std::int64_t ttl_ns) -> GenerateReply {
        auto st = self->state.loop->pause(id, kv::Duration(ttl_ns));
        if (!st.ok()) return GenerateReply{id, st.error()};
        return GenerateReply{id, std::nullopt};
      },
      [self](repin_atom, RequestId id, std::int64_t ttl_ns) -> GenerateReply {
        auto st = self->state.loop->repin(id, kv::Duration(ttl_ns));
        if (!st.ok()) return GenerateReply{id, st.error()};
        return GenerateReply{id, std::nullopt};
      },
      [self](fork_atom, RequestId parent, const caf::actor& subscriber) -> GenerateReply {
        auto child = self->state.loop->fork(parent, subscriber);
        if (!child.ok()) return GenerateReply{0, child.error()};
        return GenerateReply{*child, std::nullopt};
      },
      [self](cancel_atom, RequestId id) { self->state.loop->cancel(id); },
      [self](cancel_atom, const caf::actor& subscriber) {
        (void)self->state.loop->cancel_waiting(subscriber);
      },
      [self](metrics_atom) -> RuntimeMetrics { return self->state.loop->metrics(); },
  };
}

}  // namespace agentrt::actors
