// The engine actor: the mailbox in front of one EngineLoop (its step-loop thread). It
// accepts generate, resume, cancel and metrics; tokens go back to the subscribers named in
// each generate message as TokenBatch messages, sent by the loop thread. generate answers
// a GenerateReply with id 0 when the request waits for a live slot (its subscribers learn the
// id from their first TokenBatch), and an `overloaded` error when the wait queue is full.
#pragma once

#include <caf/all.hpp>

#include <memory>

#include "actors/engine_loop.h"
#include "actors/messages.h"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::actors::RuntimeMetrics)

namespace agentrt::actors {

struct EngineActorState {
  std::shared_ptr<EngineLoop> loop;
  static inline const char* name = "engine";
};

// Handlers: (generate_atom, GenerateMsg) -> GenerateReply; (resume_atom, ResumeMsg) ->
// GenerateReply (error when the request is not paused); (pause_atom, RequestId, ttl in
// ns) -> GenerateReply; (repin_atom, RequestId, ttl in ns) -> GenerateReply (error when
// the request is not paused); (fork_atom, RequestId, subscriber) -> GenerateReply with the child
// id; (cancel_atom, RequestId); (cancel_atom, subscriber): withdraws it from work still
// waiting for a slot (EngineLoop::cancel_waiting); (metrics_atom) -> RuntimeMetrics.
caf::behavior engine_actor(caf::stateful_actor<EngineActorState>* self,
                           std::shared_ptr<EngineLoop> loop);

}  // namespace agentrt::actors
