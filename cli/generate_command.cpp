// `agentrt generate`: runs one prompt through the engine (the CPU backend, or the CUDA one
// with --backend cuda) and prints the continuation (token ids, and text once the model has a
// tokenizer).
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/command.h"
#include "cli/cpu_precision.h"
#include "cli/default_model.h"
#include "cli/flag_text.h"
#include "cli/flags/resource_flags.h"
#include "cli/flags/sampling_flags.h"
#include "cli/json_output.h"
#include "cli/prompt_input.h"
#include "cli/token_list.h"
#include "engine/backends/backend_factory.h"
#include "engine/generator.h"
#include "engine/kv_pool_limits.h"
#include "engine/model/model.h"

namespace agentrt::cli {
namespace {

struct GenerateArgs {
  std::string model_dir;
  PromptFlags prompt;
  bool skip_special_tokens = true;
  std::string backend = "cpu";
  std::string check_weights = "sample";
  std::string cpu_precision;
  bool json = false;
  flags::SamplingFlags sampling;    // numeric sampling flags as given
  flags::ResourceFlags resources;   // --threads, --kv-blocks as given
  sampling::SamplingParams params;  // the parsed flags, and --stop, --ignore-eos
  flags::Resources limits;
};

const char* finish_name(FinishReason r) {
  switch (r) {
    case FinishReason::length:
      return "length";
    case FinishReason::stop_token:
      return "stop";
    case FinishReason::stop_string:
      return "stop";
    case FinishReason::context_full:
      return "context_full";
  }
  return "unknown";
}

nlohmann::json logprobs_json(const GenerationResult& r) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : r.steps) {
    nlohmann::json top = nlohmann::json::array();
    for (const auto& t : s.top)
      top.push_back({{"token", t.token}, {"logprob", t.logprob}});
    steps.push_back({{"token", s.token}, {"logprob", s.logprob}, {"top", top}});
  }
  return steps;
}

void print_result(const GenerateArgs& a, const std::vector<std::int32_t>& prompt,
                  const GenerationResult& r, bool has_text, double seconds) {
  const double tps = seconds > 0 ? static_cast<double>(r.tokens.size()) / seconds : 0.0;
  if (a.json) {
    nlohmann::json out = {
        {"model", a.model_dir},
        {"prompt_tokens", prompt},
        {"tokens", r.tokens},
        {"text", r.text},
        {"finish_reason", finish_name(r.finish)},
        {"usage", {{"prompt_tokens", prompt.size()}, {"completion_tokens", r.tokens.size()}}},
        {"seconds", seconds}};
    if (a.params.logprobs >= 0) out["logprobs"] = logprobs_json(r);
    std::printf("%s\n", dump_json(out).c_str());
    return;
  }
  if (has_text) {
    std::printf("%s\n", r.text.c_str());
  } else {
    std::printf("%s\n", format_token_list(r.tokens).c_str());
  }
  if (a.params.logprobs >= 0) {
    for (const auto& s : r.steps) {
      std::printf("  %6d  logprob %9.4f", s.token, static_cast<double>(s.logprob));
      for (const auto& t : s.top)
        std::printf("  | %d %.4f", t.token, static_cast<double>(t.logprob));
      std::printf("\n");
    }
  }
  std::fprintf(stderr, "[%zu prompt + %zu generated tokens, finish: %s, %.3f s, %.1f tok/s]\n",
               prompt.size(), r.tokens.size(), finish_name(r.finish), seconds, tps);
}

// Parses the numeric flags with their bounds, then checks the sampling parameters as a whole.
Status parse_flags(GenerateArgs& a) {
  AGENTRT_TRY(flags::apply_sampling_flags(a.sampling, a.params));
  auto limits = flags::parse_resource_flags(a.resources, std::thread::hardware_concurrency());
  if (!limits.ok()) return limits.error();
  a.limits = *limits;
  return a.params.validate();
}

int run_generate(GenerateArgs a) {
  apply_cpu_precision(a.cpu_precision);
  if (a.model_dir.empty()) a.model_dir = default_model_dir().string();
  if (auto st = parse_flags(a); !st.ok()) {
    std::fprintf(stderr, "agentrt generate: %s\n", st.error().message.c_str());
    return kExitUsage;
  }
  auto input = resolve_prompt(a.prompt, a.model_dir);
  if (!input.ok()) {
    const bool usage = input.error().code == ErrorCode::invalid_argument;
    std::fprintf(stderr, "agentrt generate: %s\n", input.error().message.c_str());
    return usage ? kExitUsage : kExitFailure;
  }
  if (!a.params.stop_strings.empty() && !input->tokenizer) {
    std::fprintf(stderr, "agentrt generate: --stop needs a model with tokenizer.json\n");
    return kExitUsage;
  }
  for (auto id : input->extra_stop_ids)
    a.params.stop_token_ids.push_back(id);
  const std::vector<std::int32_t>* prompt = &input->ids;
  auto model = model::Model::load(a.model_dir,
                                  model::LoadOptions{*model::parse_weight_check(a.check_weights)});
  if (!model.ok()) {
    std::fprintf(stderr, "agentrt generate: %s\n", model.error().to_string().c_str());
    return kExitFailure;
  }
  const auto& cfg = (*model)->config();
  backends::BackendChoice choice;
  choice.kind = a.backend;
  choice.cpu_threads = a.limits.threads;
  // Sized from prompt + max_tokens capped at the context, checked before anything is allocated.
  auto needed = kv_blocks_for_request(std::ssize(*prompt), a.params.max_tokens, cfg.max_context(),
                                      choice.block_size);
  if (!needed.ok()) {
    std::fprintf(stderr, "agentrt generate: %s\n", needed.error().message.c_str());
    return kExitUsage;
  }
  choice.kv_blocks = a.limits.kv_blocks > 0 ? a.limits.kv_blocks : *needed + 1;
  auto backend = backends::make_backend(*model, choice);
  if (!backend.ok()) {
    // A pool over the memory limit is the user's --kv-blocks when they gave one: say so.
    const bool pool = a.limits.kv_blocks > 0 && backend.error().code == ErrorCode::out_of_memory;
    const Error e = pool ? backend.error().with_context("--kv-blocks") : backend.error();
    std::fprintf(stderr, "agentrt generate: %s\n", e.to_string().c_str());
    return kExitFailure;
  }
  GenerationRequest req{*prompt, a.params};
  Detokenize detok;
  if (input->tokenizer) {
    detok = [tok = &*input->tokenizer,
             skip = a.skip_special_tokens](std::span<const std::int32_t> ids) {
      auto text = tok->decode(ids, skip);
      return text.ok() ? *text : std::string();
    };
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto result = generate(**backend, cfg, std::span(&req, 1), GeneratorOptions{}, detok);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!result.ok()) {
    std::fprintf(stderr, "agentrt generate: %s\n", result.error().to_string().c_str());
    return kExitFailure;
  }
  print_result(a, *prompt, (*result)[0], input->tokenizer.has_value(), seconds);
  return kExitOk;
}

}  // namespace

CommandFn add_generate_command(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Generate a continuation of a prompt");
  cmd->add_option("--model", a->model_dir, "Model directory (Hugging Face format)");
  cmd->add_option("--tokens", a->prompt.tokens, "Prompt token ids, comma- or space-separated");
  cmd->add_option("--prompt", a->prompt.prompt, "Prompt text (or @FILE), tokenized with BOS");
  cmd->add_option("--chat", a->prompt.chat,
                  "Conversation JSON (or @FILE): {\"messages\": [...], \"tools\": [...]}");
  cmd->add_option("--chat-template", a->prompt.chat_template,
                  "Chat format family (chatml_qwen, llama3) instead of detecting it");
  cmd->add_option("--thinking", a->prompt.thinking,
                  "Qwen3 enable_thinking for --chat: auto (template default), on, off");
  cmd->add_flag("!--keep-special-tokens", a->skip_special_tokens,
                "Keep special tokens in the output text");
  auto& s = a->sampling;
  add_flag_text(cmd, "--max-tokens", s.max_tokens, "Tokens to generate at most (1 .. 1048576)")
      ->default_str("16");
  add_flag_text(cmd, "--temperature", s.temperature, "0 = greedy (0 .. 100)")->default_str("1");
  add_flag_text(cmd, "--top-k", s.top_k, "Keep the k most likely tokens (0 = off)");
  add_flag_text(cmd, "--top-p", s.top_p, "Nucleus sampling mass, in (0, 1] (1 = off)");
  add_flag_text(cmd, "--min-p", s.min_p, "Drop tokens below min_p * p(best), in [0, 1] (0 = off)");
  add_flag_text(cmd, "--repetition-penalty", s.repetition_penalty,
                "HF-style, in (0, 100] (1 = off)");
  add_flag_text(cmd, "--presence-penalty", s.presence_penalty,
                "OpenAI-style, in [-2, 2] (0 = off)");
  add_flag_text(cmd, "--frequency-penalty", s.frequency_penalty,
                "OpenAI-style, in [-2, 2] (0 = off)");
  add_flag_text(cmd, "--seed", s.seed, "Sampling seed (0 .. 2^64 - 1); same seed, same output");
  cmd->add_option("--stop-token-id", s.stop_token_ids,
                  "Extra token ids that end generation (at most 64)")
      ->type_name("ID");
  auto& p = a->params;
  cmd->add_option("--stop", p.stop_strings, "Strings that end generation (needs a tokenizer)");
  cmd->add_flag("--ignore-eos", p.ignore_eos, "Keep generating past end-of-sequence tokens");
  add_flag_text(cmd, "--logprobs", s.logprobs,
                "Report the chosen token's logprob and this many alternatives (0 .. 20)");
  cmd->add_option("--backend", a->backend, "cpu, or cuda (bf16 on the GPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  add_flag_text(cmd, "--threads", a->resources.threads,
                "CPU threads (0 = all cores; at most 4 per hardware thread, 256)");
  add_flag_text(cmd, "--kv-blocks", a->resources.kv_blocks,
                "KV cache blocks of 16 tokens (0 = just enough; at most 4194304)");
  add_cpu_precision_flag(cmd, a->cpu_precision);
  add_check_weights_flag(cmd, a->check_weights);
  cmd->add_flag("--json", a->json, "Print one JSON object instead of text");
  return [a]() { return run_generate(*a); };
}

}  // namespace agentrt::cli
