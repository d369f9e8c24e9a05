// `agentrt generate`: runs one prompt through the engine (the CPU backend, or the CUDA one
// with --backend cuda) and prints the continuation (token ids, and text once the model has a
// tokenizer).
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/default_model.h"
#include "cli/prompt_input.h"
#include "cli/token_list.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/generator.h"
#include "engine/model/model.h"
#ifdef AGENTRT_HAVE_CUDA
#include "kernels/cuda_backend.h"
#endif

namespace agentrt::cli {
namespace {

struct GenerateArgs {
  std::string model_dir;
  PromptFlags prompt;
  bool skip_special_tokens = true;
  int threads = 0;
  std::string backend = "cpu";
  int kv_blocks = 0;
  bool json = false;
  sampling::SamplingParams params;
  std::uint64_t seed = 0;
  bool seed_set = false;
};

// The CPU backend, or the CUDA one (bf16) where this build has it.
Result<std::unique_ptr<Backend>> make_backend(const std::string& kind,
                                              std::shared_ptr<const model::Model> model,
                                              const cpu::CpuBackendOptions& opts) {
  if (kind == "cuda") {
#ifdef AGENTRT_HAVE_CUDA
    kernels::CudaBackendOptions c;
    c.num_blocks = opts.num_blocks;
    c.block_size = opts.block_size;
    auto b = kernels::CudaBackend::create(std::move(model), c);
    if (!b.ok()) return b.error();
    return std::unique_ptr<Backend>(std::move(*b));
#else
    return make_error(ErrorCode::unsupported, "--backend cuda: this build has no CUDA backend");
#endif
  }
  auto b = cpu::CpuBackend::create(std::move(model), opts);
  if (!b.ok()) return b.error();
  return std::unique_ptr<Backend>(std::move(*b));
}

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
    std::printf("%s\n", out.dump().c_str());
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

int run_generate(GenerateArgs a) {
  if (a.model_dir.empty()) a.model_dir = default_model_dir().string();
  if (a.seed_set) a.params.seed = a.seed;
  if (auto st = a.params.validate(); !st.ok()) {
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
  auto model = model::Model::load(a.model_dir);
  if (!model.ok()) {
    std::fprintf(stderr, "agentrt generate: %s\n", model.error().to_string().c_str());
    return kExitFailure;
  }
  const auto& cfg = (*model)->config();
  cpu::CpuBackendOptions opts;
  opts.num_threads = a.threads;
  const int needed = static_cast<int>(prompt->size()) + a.params.max_tokens;
  opts.num_blocks = a.kv_blocks > 0 ? a.kv_blocks : needed / opts.block_size + 2;
  auto backend = make_backend(a.backend, *model, opts);
  if (!backend.ok()) {
    std::fprintf(stderr, "agentrt generate: %s\n", backend.error().to_string().c_str());
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
  auto& p = a->params;
  cmd->add_option("--max-tokens", p.max_tokens, "Tokens to generate at most")
      ->capture_default_str();
  cmd->add_option("--temperature", p.temperature, "0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", p.top_k, "Keep the k most likely tokens (0 = off)");
  cmd->add_option("--top-p", p.top_p, "Nucleus sampling mass (1 = off)");
  cmd->add_option("--min-p", p.min_p, "Drop tokens below min_p * p(best) (0 = off)");
  cmd->add_option("--repetition-penalty", p.repetition_penalty, "HF-style (1 = off)");
  cmd->add_option("--presence-penalty", p.presence_penalty, "OpenAI-style (0 = off)");
  cmd->add_option("--frequency-penalty", p.frequency_penalty, "OpenAI-style (0 = off)");
  cmd->add_option("--seed", a->seed, "Sampling seed; the same seed gives the same output")
      ->each([a](const std::string&) { a->seed_set = true; });
  cmd->add_option("--stop-token-id", p.stop_token_ids, "Extra token ids that end generation");
  cmd->add_option("--stop", p.stop_strings, "Strings that end generation (needs a tokenizer)");
  cmd->add_flag("--ignore-eos", p.ignore_eos, "Keep generating past end-of-sequence tokens");
  cmd->add_option("--logprobs", p.logprobs,
                  "Report the chosen token's logprob and this many alternatives");
  cmd->add_option("--backend", a->backend, "cpu, or cuda (bf16 on the GPU)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--threads", a->threads, "CPU threads (0 = all cores)");
  cmd->add_option("--kv-blocks", a->kv_blocks, "KV cache blocks of 16 tokens (0 = just enough)");
  cmd->add_flag("--json", a->json, "Print one JSON object instead of text");
  return [a]() { return run_generate(*a); };
}

}  // namespace agentrt::cli
