// KvReuse::blend fidelity and speed on the CPU backend (issue 21).
// Fidelity: a segment first computed after prefix A is reused after prefix B; the next-token
// logits of the blended prompt are compared with a full recompute of the same prompt (KL
// divergence, top-1 agreement) for recompute fractions {0, 5%, 15%, 30%, 100%}.
// Speed (KVCOMM's shape, scaled down): 5 agents whose prompts hold one shared context at
// different offsets; reuse rate and TTFT under blend against exact-prefix reuse and full
// recompute, measured in the same run.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/cpu/cpu_backend.h"
#include "engine/engine.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt {
namespace {

// Forwards to the CPU backend and keeps the last row of the last forward's logits.
class LogitsTap final : public Backend {
 public:
  explicit LogitsTap(cpu::CpuBackend& b) : b_(b) {}
  std::string name() const override { return b_.name(); }
  std::string kv_layout() const override { return b_.kv_layout(); }
  const KvGeometry& kv_geometry() const override { return b_.kv_geometry(); }
  Status forward(const BatchPlan& plan, Logits& out) override {
    AGENTRT_TRY(b_.forward(plan, out));
    const auto last = out.row(out.rows - 1);
    last_.assign(last.begin(), last.end());
    return ok_status();
  }
  Status copy_blocks(std::span<const std::pair<std::int32_t, std::int32_t>> p) override {
    return b_.copy_blocks(p);
  }
  std::size_t block_bytes() const override { return b_.block_bytes(); }
  Status read_block(std::int32_t id, std::span<std::byte> out) override {
    return b_.read_block(id, out);
  }
  Status write_block(std::int32_t id, std::span<const std::byte> in) override {
    return b_.write_block(id, in);
  }
  std::size_t token_kv_bytes() const override { return b_.token_kv_bytes(); }
  Status read_token_kv(std::span<const std::int32_t> t, std::int32_t begin, std::int32_t count,
                       std::span<std::byte> out) override {
    return b_.read_token_kv(t, begin, count, out);
  }
  Status place_token_kv(std::span<const std::int32_t> t, std::int32_t begin,
                        std::span<const std::byte> in, std::int32_t source) override {
    return b_.place_token_kv(t, begin, in, source);
  }
  Status forward_kv_probe(const BatchPlan& plan, int layer) override {
    return b_.forward_kv_probe(plan, layer);
  }
  Status token_kv_deviation(std::span<const std::int32_t> t, std::int32_t begin,
                            std::span<const std::byte> in, std::int32_t source, int layer,
                            std::span<float> out) override {
    return b_.token_kv_deviation(t, begin, in, source, layer, out);
  }
  Status token_kv_offsets(std::span<const std::int32_t> t, std::int32_t begin,
                          std::span<const std::byte> in, std::int32_t source, int first, int last,
                          std::span<float> offsets, std::span<float> unrotated) override {
    return b_.token_kv_offsets(t, begin, in, source, first, last, offsets, unrotated);
  }
  Status add_token_kv_offsets(std::span<const std::int32_t> t, std::int32_t begin, int first,
                              int last, std::span<const float> offsets) override {
    return b_.add_token_kv_offsets(t, begin, first, last, offsets);
  }
  const std::vector<float>& last() const { return last_; }

 private:
  cpu::CpuBackend& b_;
  std::vector<float> last_;
};

// The anchor pool's options of every rig (--anchor-novelty); set once in main.
kv::AnchorOptions g_anchor_options;

struct Rig {
  Rig(const model::Model& m, int threads, bool prefix_reuse, bool by_deviation = true,
      bool anchors = false) {
    auto b = cpu::CpuBackend::create(m.config(), m.weights(), {512, 16, threads});
    if (!b.ok()) std::abort();
    cpu = std::move(b).value();
    tap = std::make_unique<LogitsTap>(*cpu);
    EngineOptions o;
    o.max_tokens_per_step = 4096;
    o.prefix_reuse = prefix_reuse;
    o.blend_select_by_deviation = by_deviation;
    o.blend_anchors = anchors;
    o.anchors = g_anchor_options;
    auto e = Engine::create({tap.get(), &m.config(), "bench", nullptr, nullptr}, o);
    if (!e.ok()) std::abort();
    engine = std::move(e).value();
  }
  // Runs one request to its first token; returns seconds to it (TTFT) and the cached count.
  std::pair<double, std::int64_t> run(const std::vector<std::int32_t>& prompt,
                                      std::vector<PromptSegment> segments, KvReuse reuse,
                                      float fraction, int max_tokens = 1) {
    EngineRequest r;
    r.prompt = prompt;
    r.params.temperature = 0.0f;
    r.params.max_tokens = max_tokens;
    r.params.ignore_eos = true;
    r.segments = std::move(segments);
    r.kv_reuse = reuse;
    r.blend_recompute = fraction;
    const auto t0 = std::chrono::steady_clock::now();
    if (!engine->add_request(r).ok()) std::abort();
    double ttft = -1;
    std::int64_t cached = 0;
    out.clear();
    while (engine->has_work()) {
      auto ev = engine->step();
      if (!ev.ok()) std::abort();
      for (const auto& e : *ev) {
        if (e.kind == EventKind::token) out.push_back(e.token);
        if (e.kind == EventKind::token && ttft < 0) {
          ttft = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          cached = e.cached_tokens;
        }
      }
    }
    return {ttft, cached};
  }
  std::unique_ptr<cpu::CpuBackend> cpu;
  std::unique_ptr<LogitsTap> tap;
  std::unique_ptr<Engine> engine;
  std::vector<std::int32_t> out;  // the last run's tokens
};

std::vector<std::int32_t> random_tokens(std::mt19937_64& rng, int n, int vocab) {
  std::vector<std::int32_t> t(static_cast<std::size_t>(n));
  for (auto& x : t)
    x = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(vocab));
  return t;
}

std::vector<double> log_softmax(const std::vector<float>& l) {
  const double m = *std::max_element(l.begin(), l.end());
  double s = 0;
  for (float x : l)
    s += std::exp(x - m);
  std::vector<double> out(l.size());
  for (std::size_t i = 0; i < l.size(); ++i)
    out[i] = l[i] - m - std::log(s);
  return out;
}

void fidelity(const std::string& name, const model::Model& m, int cases, int threads,
              int segment_len, int max_prefix, bool by_deviation) {
  const std::vector<float> fractions{0.0f, 0.05f, 0.15f, 0.30f, 1.0f};
  Rig rig(m, threads, true, by_deviation);
  const int vocab = m.config().vocab_size;
  std::mt19937_64 rng(42);
  std::vector<double> kl(fractions.size()), top1(fractions.size()), worst(fractions.size());
  for (int c = 0; c < cases; ++c) {
    const int la = 8 + static_cast<int>(rng() % static_cast<std::uint64_t>(max_prefix - 7));
    const int lb = 8 + static_cast<int>(rng() % static_cast<std::uint64_t>(max_prefix - 7));
    const auto seg = random_tokens(rng, segment_len, vocab);
    auto a = random_tokens(rng, la, vocab), b = random_tokens(rng, lb, vocab);
    const auto qa = random_tokens(rng, 8, vocab), qb = random_tokens(rng, 8, vocab);
    a.insert(a.end(), seg.begin(), seg.end());
    a.insert(a.end(), qa.begin(), qa.end());
    b.insert(b.end(), seg.begin(), seg.end());
    b.insert(b.end(), qb.begin(), qb.end());
    const PromptSegment sa{la, la + segment_len}, sb{lb, lb + segment_len};
    rig.run(a, {sa}, KvReuse::blend, 0.0f);  // a miss: the segment is stored
    std::vector<std::vector<float>> got;
    for (float f : fractions) {
      rig.run(b, {sb}, KvReuse::blend, f);
      got.push_back(rig.tap->last());
    }
    rig.run(b, {}, KvReuse::exact, 0.0f);  // full recompute (its blocks after B are new)
    const auto ref = log_softmax(rig.tap->last());
    const auto ref_top = std::max_element(ref.begin(), ref.end()) - ref.begin();
    for (std::size_t f = 0; f < fractions.size(); ++f) {
      const auto lp = log_softmax(got[f]);
      double d = 0;
      for (std::size_t i = 0; i < lp.size(); ++i)
        d += std::exp(ref[i]) * (ref[i] - lp[i]);
      kl[f] += d;
      top1[f] += (std::max_element(lp.begin(), lp.end()) - lp.begin()) == ref_top;
      for (std::size_t i = 0; i < lp.size(); ++i)
        worst[f] =
            std::max(worst[f], static_cast<double>(std::abs(got[f][i] - rig.tap->last()[i])));
    }
  }
  const auto s = rig.engine->segment_stats();
  std::printf(
      "\n%s: %d cases, segment %d tokens after prefixes of 8-%d tokens, 8 query tokens; "
      "recomputed: %s\n",
      name.c_str(), cases, segment_len, max_prefix,
      by_deviation ? "the most deviating tokens (CacheBlend)" : "the first tokens");
  std::printf("| recompute | mean KL(full || blend) | top-1 agreement | max |logit diff| |\n");
  std::printf("| ---: | ---: | ---: | ---: |\n");
  for (std::size_t f = 0; f < fractions.size(); ++f)
    std::printf("| %.0f%% | %.3g | %.1f%% | %.3g |\n", 100.0 * fractions[f], kl[f] / cases,
                100.0 * top1[f] / cases, worst[f]);
  std::printf("segment cache: %lld hits, %lld tokens reused, %lld recomputed\n",
              static_cast<long long>(s.hits), static_cast<long long>(s.tokens_reused),
              static_cast<long long>(s.tokens_recomputed));
}

// Workflow-shaped fidelity on real text: a word problem is first computed in a reviewer's
// prompt (the canonical system prompt, the problem as the user message), then quoted in
// one of three other prompts (another system prompt and a lead-in before it: a checker
// after three proposed answers, a step-by-step solver, a worksheet reader), taking turns.
// Compared with a full recompute of the same prompt: the next-token distribution at the
// prompt's end and after 3, 6 and 9 tokens of the reference's greedy reply (which names
// the problem's people and numbers). Each mode runs every case on one engine, so anchors
// accumulate; the first `warmup` cases are not scored.
void workflow_fidelity(const model::Model& m, const std::string& model_dir,
                       const std::string& problems_file, int cases, int warmup, int threads) {
  auto tok = tokenizer::Tokenizer::load_dir(model_dir);
  std::ifstream golden(std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/tiny_calc/golden.json");
  std::ifstream problems_in(problems_file);
  if (!tok.ok() || !golden || !problems_in) {
    std::fprintf(stderr, "workflow fidelity: needs %s/tokenizer.json, the golden fixture and %s\n",
                 model_dir.c_str(), problems_file.c_str());
    std::exit(1);
  }
  const std::string text = nlohmann::json::parse(golden)["conversations"][0]["text"];
  const auto tools_at = text.find("\n\n# Tools");
  const std::string tools = text.substr(tools_at, text.find("<|im_start|>user\n") - tools_at);
  auto chat = [&](const std::string& system, const std::string& lead) {
    return "<|im_start|>system\n" + system + tools + "<|im_start|>user\n" + lead;
  };
  const std::string canonical =
      "You solve arithmetic word problems. Use the calculator tool for every operation, then "
      "give the final line as 'Answer: N'.";
  const std::string suffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
  std::vector<std::string> problems;
  for (std::string line; std::getline(problems_in, line) && std::ssize(problems) < cases;)
    if (!line.empty()) problems.push_back(line.substr(0, line.find('\t')));
  cases = static_cast<int>(problems.size());
  std::mt19937_64 rng(11);
  struct Case {
    std::vector<std::int32_t> src, dst, reply;
    PromptSegment src_span, dst_span;
    std::vector<std::vector<double>> ref;  // per scored position
  };
  const int positions[] = {0, 3, 6, 9};
  std::vector<Case> cs(static_cast<std::size_t>(cases));
  Rig ref(m, threads, true);
  for (int c = 0; c < cases; ++c) {
    Case& k = cs[static_cast<std::size_t>(c)];
    const auto seg = tok->encode(problems[static_cast<std::size_t>(c)]);
    std::string lead;
    switch (c % 3) {
      case 0:
        lead = chat("Solve the problem step by step with the calculator.",
                    "Check this problem carefully: ");
        break;
      case 1:
        lead = chat(canonical, "Proposed solutions:\n");
        for (int r = 0; r < 3; ++r)
          lead += "Answer: " + std::to_string(rng() % 200) + "\n";
        lead += "Problem: ";
        break;
      default:
        lead = chat("You are a helpful assistant.",
                    "Here is a word problem from a worksheet. Read it and solve it.\n");
    }
    auto build = [&](const std::string& before, PromptSegment& span) {
      auto t = tok->encode(before);
      span = {static_cast<std::int32_t>(t.size()),
              static_cast<std::int32_t>(t.size() + seg.size())};
      t.insert(t.end(), seg.begin(), seg.end());
      const auto s2 = tok->encode(suffix);
      t.insert(t.end(), s2.begin(), s2.end());
      return t;
    };
    k.src = build(chat(canonical, ""), k.src_span);
    k.dst = build(lead, k.dst_span);
    ref.run(k.dst, {}, KvReuse::exact, 0.0f, 10);
    k.reply = ref.out;
    for (int p : positions) {
      auto prompt = k.dst;
      prompt.insert(prompt.end(), k.reply.begin(), k.reply.begin() + p);
      ref.run(prompt, {}, KvReuse::exact, 0.0f, 1);
      k.ref.push_back(log_softmax(ref.tap->last()));
    }
  }
  std::printf(
      "\n%d word problems (tiny-calc): computed first as a reviewer's user message, then quoted "
      "in one of 3 other prompts (taking turns); next-token distribution at the prompt's end "
      "and 3, 6, 9 tokens into the reference reply, against a full recompute; cases %d-%d "
      "scored\n",
      cases, warmup + 1, cases);
  std::printf(
      "| anchors | recompute | mean KL(full || blend) | top-1 agreement | segment tokens "
      "reused | placements computed in full for anchors |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
  for (bool anchors : {false, true}) {
    for (float f : {0.0f, 0.05f, 0.15f, 0.30f, 0.5f}) {
      Rig rig(m, threads, true, true, anchors);
      double kl = 0, top1 = 0, rows = 0;
      kv::SegmentCacheStats s0;
      kv::AnchorStats a0;
      for (int c = 0; c < cases; ++c) {
        if (c == warmup) s0 = rig.engine->segment_stats(), a0 = rig.engine->anchor_stats();
        const Case& k = cs[static_cast<std::size_t>(c)];
        rig.run(k.src, {k.src_span}, KvReuse::blend, f);
        for (std::size_t i = 0; i < std::size(positions); ++i) {
          auto prompt = k.dst;
          prompt.insert(prompt.end(), k.reply.begin(), k.reply.begin() + positions[i]);
          rig.run(prompt, {k.dst_span}, KvReuse::blend, f);
          if (c < warmup) continue;
          const auto lp = log_softmax(rig.tap->last());
          const auto& rf = k.ref[i];
          double d = 0;
          for (std::size_t v = 0; v < lp.size(); ++v)
            d += std::exp(rf[v]) * (rf[v] - lp[v]);
          kl += d;
          top1 += (std::max_element(lp.begin(), lp.end()) - lp.begin()) ==
                  (std::max_element(rf.begin(), rf.end()) - rf.begin());
          rows += 1;
        }
      }
      const auto s1 = rig.engine->segment_stats();
      const auto a1 = rig.engine->anchor_stats();
      const double reused = static_cast<double>(s1.tokens_reused - s0.tokens_reused);
      const double recomputed = static_cast<double>(s1.tokens_recomputed - s0.tokens_recomputed);
      std::printf("| %s | %.0f%% | %.4f | %.1f%% | %.1f%% | %lld of %lld |\n",
                  anchors ? "yes" : "no", 100.0 * f, kl / rows, 100.0 * top1 / rows,
                  100.0 * reused / (reused + recomputed),
                  static_cast<long long>(a1.recorded - a0.recorded),
                  static_cast<long long>(s1.hits - s0.hits));
      std::fflush(stdout);
    }
  }
}

// KVCOMM's shape scaled down: per round a new shared context; agent i's prompt is a common
// system prompt, its own instruction (different lengths, so the context sits at different
// offsets), the context, its own query. Agent 0 computes the context; agents 1-4 are timed.
void speed(const model::Model& m, int threads, int rounds, int context, float fraction) {
  const int vocab = m.config().vocab_size;
  struct Mode {
    const char* name;
    bool prefix_reuse;
    KvReuse reuse;
    bool anchors = false;
    float fraction = -1;  // -1: --fraction
  };
  const Mode modes[] = {{"full recompute", false, KvReuse::exact},
                        {"exact prefix", true, KvReuse::exact},
                        {"blend", true, KvReuse::blend},
                        {"blend with anchors", true, KvReuse::blend, true},
                        {"blend 0% with anchors", true, KvReuse::blend, true, 0.0f}};
  std::printf(
      "\nKVCOMM shape on the CPU: 5 agents, 64-token common system prompt, instructions "
      "of 16-144 tokens, %d-token shared context, 64-token query; %d rounds, blend "
      "recompute %.0f%%; TTFT of agents 1-4 (agent 0 computes the context)\n",
      context, rounds, 100.0 * fraction);
  std::printf(
      "| mode | prompt tokens reused | mean TTFT ms | vs exact prefix | placements computed in "
      "full for anchors |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: |\n");
  double exact_ttft = 0;
  for (const Mode& mode : modes) {
    Rig rig(m, threads, mode.prefix_reuse, true, mode.anchors);
    std::mt19937_64 rng(7);
    const auto system = random_tokens(rng, 64, vocab);
    double ttft = 0, reused = 0, total = 0;
    for (int r = 0; r < rounds; ++r) {
      const auto shared = random_tokens(rng, context, vocab);
      for (int agent = 0; agent < 5; ++agent) {
        auto p = system;
        const auto own = random_tokens(rng, 16 + 32 * agent, vocab);
        p.insert(p.end(), own.begin(), own.end());
        const auto at = static_cast<std::int32_t>(p.size());
        p.insert(p.end(), shared.begin(), shared.end());
        const auto q = random_tokens(rng, 64, vocab);
        p.insert(p.end(), q.begin(), q.end());
        const auto [t, cached] = rig.run(p, {{at, at + context}}, mode.reuse,
                                         mode.fraction >= 0 ? mode.fraction : fraction, 1);
        if (agent == 0) continue;
        ttft += t;
        reused += static_cast<double>(cached);
        total += static_cast<double>(p.size());
      }
    }
    const double mean = 1e3 * ttft / (4.0 * rounds);
    if (mode.reuse == KvReuse::exact && mode.prefix_reuse) exact_ttft = mean;
    const auto a = rig.engine->anchor_stats();
    std::printf(
        "| %s | %.1f%% | %.2f | %s | %s |\n", mode.name, 100.0 * reused / total, mean,
        exact_ttft > 0 ? (std::to_string(exact_ttft / mean).substr(0, 4) + "x").c_str() : "-",
        mode.anchors ? (std::to_string(a.recorded) + " of " +
                        std::to_string(rig.engine->segment_stats().hits))
                           .c_str()
                     : "-");
  }
}

}  // namespace
}  // namespace agentrt

int main(int argc, char** argv) {
  using namespace agentrt;
  CLI::App app{"KvReuse::blend fidelity and speed (CPU)"};
  int cases = 200, threads = 2, rounds = 10, context = 512;
  float fraction = 0.15f;
  std::vector<std::string> models{
      std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc",
      std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/models/qwen3-qknorm",
      std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/models/llama3-rope-tied"};
  app.add_option("--cases", cases, "fidelity cases per model");
  app.add_option("--threads", threads, "CPU threads");
  app.add_option("--rounds", rounds, "speed rounds");
  app.add_option("--context", context, "speed: shared context tokens");
  app.add_option("--fraction", fraction, "speed: blend recompute fraction");
  app.add_option("--models", models, "model directories (the first also runs the speed part)");
  std::string problems;
  int workflow_cases = 200, warmup = 30;
  app.add_option("--problems", problems,
                 "word problems, one per line (text, optionally a tab and more): runs the "
                 "workflow-shaped fidelity on the first model (tiny-calc) and nothing else");
  app.add_option("--workflow-cases", workflow_cases, "workflow fidelity: problems used");
  app.add_option("--warmup", warmup, "workflow fidelity: cases run before scoring");
  app.add_option("--anchor-novelty", g_anchor_options.novelty,
                 "anchors: record a placement whose novelty exceeds this (AnchorOptions)");
  CLI11_PARSE(app, argc, argv);
  if (!problems.empty()) {
    auto m = model::Model::load(models[0]);
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", m.error().to_string().c_str());
      return 1;
    }
    workflow_fidelity(**m, models[0], problems, workflow_cases, warmup, threads);
    return 0;
  }
  for (std::size_t i = 0; i < models.size(); ++i) {
    auto m = model::Model::load(models[i]);
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", m.error().to_string().c_str());
      return 1;
    }
    const int max_context = (*m)->config().max_context();
    const int seg = std::min(128, max_context / 4);
    const std::string name = models[i].substr(models[i].find_last_of('/') + 1);
    fidelity(name, **m, cases, threads, seg, std::min(96, max_context / 4), true);
    if (i == 0) fidelity(name, **m, cases, threads, seg, std::min(96, max_context / 4), false);
    if (i == 0 && rounds > 0) speed(**m, threads, rounds, context, fraction);
  }
  return 0;
}
