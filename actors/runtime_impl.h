// Runtime::Impl: the state behind the Runtime facade, shared by runtime.cpp (model
// loading, jobs) and runtime_completion.cpp (raw completions). Internal to actors/.
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "actors/agent_actor.h"
#include "actors/engine_loop.h"
#include "actors/runtime.h"
#include "actors/tool_registry.h"

namespace agentrt::actors {

struct Runtime::Impl {
  RuntimeOptions opt;
  std::shared_ptr<const model::Model> model;
  std::shared_ptr<kv::KvTier> persistent;  // outlives the engine (declared before loop)
  std::unique_ptr<Backend> backend;
  std::optional<tokenizer::Tokenizer> tok;
  // The model's chat template (a hand-written family where one matches, else Jinja); family
  // is its family, chatml_qwen for a Jinja-only template.
  chat::ChatTemplate chat = chat::ChatTemplate::of_family(chat::Family::chatml_qwen);
  chat::Family family = chat::Family::chatml_qwen;
  std::shared_ptr<ToolRegistry> tools = std::make_shared<ToolRegistry>();
  std::shared_ptr<TtlPolicy> ttl;
  std::shared_ptr<EngineLoop> loop;
  // The ids that end a turn: the model config's eos_token_ids and the tokenizer's
  // eos_token (the engine's extra_eos_ids, the structured-output vocabulary's end tokens).
  std::vector<std::int32_t> end_ids;
  // Runtime::token_vocabulary(), built on first use.
  std::mutex vocab_mu;
  std::shared_ptr<const grammar::TokenVocabulary> vocab;
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor engine;
  std::shared_ptr<AgentContext> ctx;

  std::mutex mu;  // guards jobs
  std::condition_variable jobs_cv;
  std::map<JobId, caf::actor> jobs;
  std::atomic<JobId> next_job{1};

  Status check_agent(const AgentSpec& a) const;
  JobId reserve_job();
  void attach_job(JobId id, caf::actor a);
  void end_job(JobId id);
  void shutdown();
};

}  // namespace agentrt::actors
