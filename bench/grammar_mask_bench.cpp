// Structured output's cost per token: the grammar token mask (grammar::fill_token_mask) on a
// real vocabulary, at every position of outputs sampled through the constraint, against
// host sampling of the same logits row measured in the same run (the sampler the mask
// feeds), and a stated GPU decode step (bench/RESULTS.md, "Decode step and prefill").
//
//   grammar_mask_bench --tokenizer ~/.cache/agentrt/tokenizers/qwen3 [--json FILE]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/grammar/json_schema_constraint.h"
#include "engine/grammar/matcher.h"
#include "engine/grammar/token_masker.h"
#include "engine/sampling/sampler.h"

namespace {

using Clock = std::chrono::steady_clock;
using agentrt::grammar::JsonSchemaConstraint;
using agentrt::grammar::MatchState;
using agentrt::grammar::TokenVocabulary;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Case {
  const char* name;
  const char* schema;
};

const Case kCases[] = {
    {"object (nested, enum, array, numbers)",
     R"({"type":"object","properties":{"name":{"type":"string"},
        "kind":{"enum":["tool","answer"]},"score":{"type":"number"},
        "tags":{"type":"array","items":{"type":"string"},"maxItems":4},
        "inner":{"type":"object","properties":{"x":{"type":"integer"},
                 "note":{"type":["string","null"]}},"required":["x"]}},
        "required":["name","kind","inner"]})"},
    {"tool call (name enum + free arguments)",
     R"({"type":"object","properties":{"name":{"enum":["calculator","search","read_file"]},
        "arguments":{"type":"object"}},"required":["name","arguments"]})"},
    {"array of numbers", R"({"type":"array","items":{"type":"number"},"maxItems":32})"},
};

// Random logits leaning towards structural tokens, so outputs end in tens of tokens.
void fill_logits(const std::vector<float>& bias, std::mt19937_64& rng, std::vector<float>& out) {
  std::uniform_real_distribution<float> uni(-4.0f, 4.0f);
  out.resize(bias.size());
  for (std::size_t i = 0; i < bias.size(); ++i)
    out[i] = uni(rng) + bias[i];
}

struct Stats {
  double mean = 0, p50 = 0, p99 = 0, max = 0;
};

Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  for (double x : v)
    s.mean += x;
  s.mean /= static_cast<double>(v.size());
  s.p50 = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  s.max = v.back();
  return s;
}

// Seconds per step to fill the masks of `batch` sequences (states taken in turn from
// `states`), split over `threads` threads that meet at a barrier after every step.
double batch_step_seconds(const TokenVocabulary& vocab, const std::vector<MatchState>& states,
                          std::size_t rows, int batch, int threads, int steps) {
  std::barrier sync(threads);
  auto work = [&](int t) {
    agentrt::sampling::TokenMask mask;
    agentrt::grammar::fill_token_mask(vocab, states[0], mask);  // warm-up: per-thread scratch
    for (int step = 0; step < steps; ++step) {
      for (int r = t; r < batch; r += threads) {
        mask.reset(rows);
        const auto i = static_cast<std::size_t>(step * batch + r) % states.size();
        agentrt::grammar::fill_token_mask(vocab, states[i], mask);
      }
      sync.arrive_and_wait();
    }
  };
  const auto t0 = Clock::now();
  std::vector<std::jthread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back(work, t);
  work(0);
  pool.clear();
  return since(t0) / steps;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, json_path;
  int samples = 8;
  int rows_pad = 267;          // Qwen3's embedding has 151936 rows for 151669 ids
  double gpu_step_ms = 16.89;  // Llama-3.1-8B decode step at batch 256, H200 (RESULTS.md)
  int batch = 64;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CLI::App app{"Grammar token-mask cost per token"};
  app.add_option("--tokenizer", dir, "Directory with tokenizer.json")->required();
  app.add_option("--samples", samples, "Outputs sampled per schema");
  app.add_option("--pad", rows_pad, "Logits rows past the tokenizer's ids");
  app.add_option("--batch", batch, "Sequences per step for the batch case");
  app.add_option("--threads", threads, "Threads for the batch case (default: all cores)");
  app.add_option("--json", json_path, "Write results here");
  CLI11_PARSE(app, argc, argv);

  auto t0 = Clock::now();
  auto tok = agentrt::tokenizer::Tokenizer::load_dir(dir);
  if (!tok.ok()) {
    std::fprintf(stderr, "%s\n", tok.error().to_string().c_str());
    return 1;
  }
  const double load_s = since(t0);
  t0 = Clock::now();
  auto vocab_r = TokenVocabulary::from_tokenizer(*tok);
  if (!vocab_r.ok()) {
    std::fprintf(stderr, "%s\n", vocab_r.error().to_string().c_str());
    return 1;
  }
  const auto vocab = *vocab_r;
  const double vocab_s = since(t0);
  const std::size_t rows = static_cast<std::size_t>(vocab->size() + rows_pad);
  std::vector<float> bias(rows, 0.0f);
  for (std::int32_t t = 0; t < vocab->size(); ++t) {
    if (vocab->bytes(t).find_first_of("\"]},") != std::string::npos) bias[t] = 7.0f;
  }
  for (std::int32_t e : vocab->end_tokens())
    bias[static_cast<std::size_t>(e)] = 7.0f;
  std::printf(
      "tokenizer %s: %d ids, %zu logits rows; load %.3f s, vocabulary tables %.3f s "
      "(trie %zu nodes, string-exit trie %zu nodes, %zu ids stay in strings)\n",
      dir.c_str(), vocab->size(), rows, load_s, vocab_s, vocab->trie().size(),
      vocab->string_exit_trie().size(), vocab->string_stay().count());

  nlohmann::json out = {{"tokenizer", dir},
                        {"ids", vocab->size()},
                        {"vocab_build_s", vocab_s},
                        {"gpu_step_ms_reference", gpu_step_ms},
                        {"cases", nlohmann::json::array()}};
  std::printf(
      "\n| schema | tokens | mask mean us | p50 | p99 | max | cold mean | in-string mean | other "
      "mean "
      "| host sample us | constrained sample us | cold mask / sample | 64 masks / GPU step |\n");
  std::printf(
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
      "|\n");
  std::vector<MatchState> all_states;  // every position of every case, for the batch case
  std::vector<std::shared_ptr<const JsonSchemaConstraint>> keep;  // the states' grammars
  for (const Case& c : kCases) {
    auto con = JsonSchemaConstraint::make(nlohmann::ordered_json::parse(c.schema), vocab);
    if (!con.ok()) {
      std::fprintf(stderr, "%s: %s\n", c.name, con.error().message.c_str());
      return 1;
    }
    keep.push_back(*con);
    std::vector<double> mask_s, cold_s, string_s, other_s, plain_sample_s, con_sample_s;
    std::mt19937_64 rng(7);
    std::vector<float> logits;
    agentrt::sampling::TokenMask mask;
    for (int i = 0; i < samples; ++i) {
      agentrt::sampling::SamplingParams params;
      // Plain temperature sampling: the cheapest full pass over the row (top-p over near-flat
      // random logits would sort most of it and flatter the ratio).
      params.temperature = 1.0f;
      agentrt::sampling::Sampler plain(params, 1);
      params.constraint = *con;
      agentrt::sampling::Sampler constrained(params, 100 + static_cast<std::uint64_t>(i));
      MatchState state(con.value()->grammar());
      std::vector<std::int32_t> output;
      for (int step = 0; step < 512; ++step) {
        fill_logits(bias, rng, logits);
        // The mask alone, from the state the sampler is at: best of 3, as this shared
        // machine preempts for a 4 ms tick now and then. The first of the 3 runs right after
        // the previous step's sampling pass, so it also pays for the caches that pass cleared.
        double m = 1e9, first = 0;
        for (int rep = 0; rep < 3; ++rep) {
          mask.reset(rows);
          const auto t = Clock::now();
          agentrt::grammar::fill_token_mask(*vocab, state, mask);
          const double took = since(t);
          if (rep == 0) first = took;
          m = std::min(m, took);
        }
        cold_s.push_back(first);
        mask_s.push_back(m);
        all_states.push_back(state);
        (state.in_plain_string() ? string_s : other_s).push_back(m);
        auto t = Clock::now();
        (void)plain.sample(logits, {}, output);
        plain_sample_s.push_back(since(t));
        t = Clock::now();
        const auto tok_out = constrained.sample(logits, {}, output).token;
        con_sample_s.push_back(since(t));
        if (vocab->is_end(tok_out)) break;
        if (!state.advance(vocab->bytes(tok_out))) {
          std::fprintf(stderr, "sampled a token the grammar refuses\n");
          return 1;
        }
        output.push_back(tok_out);
      }
    }
    const Stats cold = stats(cold_s);
    const Stats ms = stats(mask_s), ss = stats(string_s), os = stats(other_s);
    const Stats ps = stats(plain_sample_s), cs = stats(con_sample_s);
    const double per_step_64 = 64 * cold.mean * 1e3 / gpu_step_ms;  // the cold figure: conservative
    std::printf(
        "| %s | %zu | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2fx | %.2fx "
        "|\n",
        c.name, mask_s.size(), ms.mean * 1e6, ms.p50 * 1e6, ms.p99 * 1e6, ms.max * 1e6,
        cold.mean * 1e6, ss.mean * 1e6, os.mean * 1e6, ps.mean * 1e6, cs.mean * 1e6,
        cold.mean / ps.mean, per_step_64);
    out["cases"].push_back({{"schema", c.name},
                            {"tokens", mask_s.size()},
                            {"mask_mean_us", ms.mean * 1e6},
                            {"mask_p50_us", ms.p50 * 1e6},
                            {"mask_p99_us", ms.p99 * 1e6},
                            {"mask_max_us", ms.max * 1e6},
                            {"mask_cold_mean_us", cold.mean * 1e6},
                            {"mask_in_string_mean_us", ss.mean * 1e6},
                            {"mask_other_mean_us", os.mean * 1e6},
                            {"host_sample_mean_us", ps.mean * 1e6},
                            {"constrained_sample_mean_us", cs.mean * 1e6},
                            {"cold_mask_over_host_sample", cold.mean / ps.mean},
                            {"batch64_masks_over_gpu_step", per_step_64}});
  }
  std::printf(
      "\n(cold mask / sample: the cold mask over the host sampling pass of the same row. 64 "
      "masks / GPU step: 64 cold masks one after another on one "
      "core, over a %.2f ms decode step.)\n",
      gpu_step_ms);
  // The batch case: every step fills `batch` masks, states drawn from all cases' positions.
  std::printf(
      "\n| batch | threads | masks per step ms | vs %.2f ms GPU step |\n"
      "| ---: | ---: | ---: | ---: |\n",
      gpu_step_ms);
  out["batch"] = nlohmann::json::array();
  for (int t : {1, threads}) {
    const double step_s = batch_step_seconds(*vocab, all_states, rows, batch, t, 50);
    std::printf("| %d | %d | %.3f | %.3fx |\n", batch, t, step_s * 1e3, step_s * 1e3 / gpu_step_ms);
    out["batch"].push_back({{"batch", batch}, {"threads", t}, {"step_ms", step_s * 1e3}});
    if (threads == 1) break;
  }
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return 0;
}
