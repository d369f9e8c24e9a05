// KV restore against recompute (CPU): a long agent conversation is prefilled once by an
// engine with a persistent KV store (storage::KvStore in a temp dir), whose blocks are
// flushed to it; then, in the same run, a new engine over a newly opened store on the same
// dir (as a restarted process would be: new Db, new KvStore, cold host tier) and an engine
// without a store each produce the first token of the same prompt. Reports time to first
// token as restore / recompute, the bytes read from the store and its read rate, with the
// store's page cache state measured before each restore (warm: just written; cold: evicted).
//
//   kv_restore_bench [--model DIR | --shape qwen2.5-0.5b] [--tokens 3000] [--repeats 3]
//                    [--threads 0] [--host-tier-mb 256] [--no-cold] [--json FILE]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "bench/counting_tier.h"
#include "bench/page_cache.h"
#include "bench/synthetic_model.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/engine.h"
#include "engine/model/model.h"
#include "storage/db.h"
#include "storage/kv_store.h"

namespace agentrt::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string model_dir;
  std::string shape;
  int tokens = 3000;
  int repeats = 3;
  int threads = 0;
  int host_tier_mb = 256;
  bool cold = true;
  std::string json_path;
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// A system prompt followed by rounds of user text, a tool call and its result: token ids
// only (their values do not change the cost), deterministic.
std::vector<std::int32_t> conversation(int n, int vocab) {
  std::mt19937 rng(14);
  std::vector<std::int32_t> t(static_cast<std::size_t>(n));
  for (auto& x : t)
    x = static_cast<std::int32_t>(rng() % static_cast<unsigned>(vocab));
  return t;
}

struct Turn {
  double ttft_s = 0;
  std::int64_t prefilled = 0;
  std::int32_t first_token = -1;
  kv::KvMetrics kv;
};

// Time from add_request to the first token of a greedy one-token request.
Result<Turn> first_token(Engine& e, const std::vector<std::int32_t>& prompt) {
  EngineRequest r;
  r.prompt = prompt;
  r.params.temperature = 0.0f;
  r.params.max_tokens = 1;
  r.params.ignore_eos = true;
  Turn out;
  const auto t0 = Clock::now();
  AGENTRT_TRY(e.add_request(std::move(r)));
  while (out.first_token < 0 && e.has_work()) {
    auto ev = e.step();
    AGENTRT_TRY(ev);
    for (const auto& x : *ev) {
      if (x.kind == EventKind::error) return make_error(ErrorCode::internal, x.message);
      if (x.kind == EventKind::token && out.first_token < 0) out.first_token = x.token;
    }
  }
  out.ttft_s = seconds_since(t0);
  while (e.has_work())
    AGENTRT_TRY(e.step());
  out.prefilled = e.stats().prefilled_tokens;
  out.kv = e.kv_metrics();
  return out;
}

struct Setup {
  std::shared_ptr<const model::Model> model;
  int blocks = 0;
  int threads = 0;
};

struct Store {
  std::shared_ptr<storage::Db> db;
  std::unique_ptr<storage::KvStore> kv;
  std::unique_ptr<CountingTier> counting;
  double open_s = 0;
};

Result<Store> open_store(const fs::path& dir, const std::string& fingerprint) {
  Store s;
  const auto t0 = Clock::now();
  auto db = storage::Db::open(dir);
  AGENTRT_TRY(db);
  auto kv = storage::KvStore::open(*db, fingerprint);
  AGENTRT_TRY(kv);
  s.open_s = seconds_since(t0);
  s.db = std::move(*db);
  s.kv = std::move(*kv);
  s.counting = std::make_unique<CountingTier>(s.kv.get());
  return s;
}

// One engine on a fresh backend (creating the backend is not timed) answering the prompt.
Result<Turn> run_engine(const Setup& su, kv::KvTier* tier, std::size_t host_bytes,
                        const std::vector<std::int32_t>& prompt, bool flush = false,
                        double* flush_s = nullptr) {
  auto backend = cpu::CpuBackend::create(su.model, {su.blocks, 16, su.threads});
  AGENTRT_TRY(backend);
  EngineOptions eo;
  eo.host_tier_bytes = host_bytes;
  auto engine = Engine::create(
      {backend->get(), &su.model->config(), su.model->fingerprint(), tier, nullptr}, eo);
  AGENTRT_TRY(engine);
  auto turn = first_token(**engine, prompt);
  AGENTRT_TRY(turn);
  if (flush) {
    const auto t0 = Clock::now();
    AGENTRT_TRY((*engine)->flush_persistent());
    *flush_s = seconds_since(t0);
    turn->kv = (*engine)->kv_metrics();
  }
  return turn;
}

struct Restore {
  Turn turn;
  double open_s = 0;
  CacheState cache;
  std::int64_t bytes_read = 0;
  std::int64_t read_calls = 0;  // get/get_many calls
  double read_s = 0;
};

Result<Restore> restore(const Setup& su, const fs::path& dir, std::size_t host_bytes,
                        const std::vector<std::int32_t>& prompt) {
  Restore r;
  r.cache = page_cache_state(dir);
  auto store = open_store(dir, su.model->fingerprint());
  AGENTRT_TRY(store);
  r.open_s = store->open_s;
  auto turn = run_engine(su, store->counting.get(), host_bytes, prompt);
  AGENTRT_TRY(turn);
  r.turn = *turn;
  r.bytes_read = store->counting->bytes_read();
  r.read_s = store->counting->read_seconds();
  r.read_calls = store->counting->calls();
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

nlohmann::json to_json(const Restore& r, double recompute_s) {
  return {{"ttft_s", r.turn.ttft_s},
          {"store_open_s", r.open_s},
          {"prefilled_tokens", r.turn.prefilled},
          {"store_hit_tokens", r.turn.kv.hit_tokens[2]},
          {"bytes_read", r.bytes_read},
          {"read_s", r.read_s},
          {"read_calls", r.read_calls},
          {"read_mb_per_s", static_cast<double>(r.bytes_read) / 1e6 / r.read_s},
          {"store_file_bytes", r.cache.file_bytes},
          {"store_resident_bytes", r.cache.resident_bytes},
          {"ratio_to_recompute", r.turn.ttft_s / recompute_s},
          {"ratio_with_open", (r.turn.ttft_s + r.open_s) / recompute_s}};
}

void print_restore(const char* name, const Restore& r, double recompute_s) {
  std::printf("%-22s %9.3f %7.3f %9lld %9lld %9.1f %7.3f %8.1f %6.1f%% %8.3f %8.3f\n", name,
              r.turn.ttft_s, r.open_s, static_cast<long long>(r.turn.prefilled),
              static_cast<long long>(r.turn.kv.hit_tokens[2]),
              static_cast<double>(r.bytes_read) / 1e6, r.read_s,
              static_cast<double>(r.bytes_read) / 1e6 / r.read_s,
              r.cache.file_bytes == 0 ? 0.0 : 100.0 * r.cache.resident_bytes / r.cache.file_bytes,
              r.turn.ttft_s / recompute_s, (r.turn.ttft_s + r.open_s) / recompute_s);
}

int fail(const Error& e) {
  std::fprintf(stderr, "kv_restore_bench: %s\n", e.to_string().c_str());
  return 1;
}

int run(const Args& a) {
  std::string dir = a.model_dir;
  if (!a.shape.empty()) {
    dir = (fs::temp_directory_path() / ("agentrt-bench-" + a.shape)).string();
    if (auto st = write_synthetic_model(a.shape, dir); !st.ok()) return fail(st.error());
  }
  auto model = model::Model::load(dir);
  if (!model.ok()) return fail(model.error());
  Setup su{*model, a.tokens / 16 + 4,
           a.threads > 0 ? a.threads : static_cast<int>(std::thread::hardware_concurrency())};
  const auto prompt = conversation(a.tokens, su.model->config().vocab_size);
  const fs::path store_dir = fs::temp_directory_path() / "agentrt-kv-restore-bench";
  fs::remove_all(store_dir);
  const std::size_t host_bytes = static_cast<std::size_t>(a.host_tier_mb) << 20;
  nlohmann::json out = {{"model", dir},
                        {"tokens", a.tokens},
                        {"threads", su.threads},
                        {"host_tier_bytes", host_bytes},
                        {"load_average_start", load_average()}};

  // (a) Engine A prefills with the store attached and flushes its blocks to it.
  double flush_s = 0, a_open_s = 0;
  Turn first;
  {
    auto store = open_store(store_dir, su.model->fingerprint());
    if (!store.ok()) return fail(store.error());
    a_open_s = store->open_s;
    auto t = run_engine(su, store->counting.get(), host_bytes, prompt, true, &flush_s);
    if (!t.ok()) return fail(t.error());
    first = *t;
    if (auto st = store->db->flush(); !st.ok()) return fail(st.error());
  }
  std::printf("model %s, %d tokens, %d threads, load average %s\n", dir.c_str(), a.tokens,
              su.threads, load_average().c_str());
  std::printf("A (prefill + write-behind): ttft %.3f s, %lld blocks persisted, flush %.3f s\n",
              first.ttft_s, static_cast<long long>(first.kv.persisted_blocks), flush_s);
  out["write"] = {{"ttft_s", first.ttft_s},
                  {"store_open_s", a_open_s},
                  {"persisted_blocks", first.kv.persisted_blocks},
                  {"persist_errors", first.kv.persist_errors},
                  {"flush_s", flush_s},
                  {"store_file_bytes", page_cache_state(store_dir).file_bytes}};

  std::printf("%-22s %9s %7s %9s %9s %9s %7s %8s %7s %8s %8s\n", "case", "ttft s", "open s",
              "prefilled", "store hit", "MB read", "read s", "MB/s", "cached", "ratio", "w/ open");
  std::vector<double> recompute_s, warm_ratio, cold_ratio;
  bool same_tokens = true;
  for (int rep = 0; rep < a.repeats; ++rep) {
    nlohmann::json rj;
    // (c) Engine C recomputes without a store.
    auto c = run_engine(su, nullptr, host_bytes, prompt);
    if (!c.ok()) return fail(c.error());
    recompute_s.push_back(c->ttft_s);
    std::printf("%-22s %9.3f %7s %9lld %9s %9s %7s %8s %7s %8.3f\n", "recompute (no store)",
                c->ttft_s, "-", static_cast<long long>(c->prefilled), "-", "-", "-", "-", "-", 1.0);
    rj["recompute"] = {{"ttft_s", c->ttft_s}, {"prefilled_tokens", c->prefilled}};
    same_tokens = same_tokens && c->first_token == first.first_token;
    // (b) Engine B restores from a newly opened store: page cache warm (just written).
    auto w = restore(su, store_dir, host_bytes, prompt);
    if (!w.ok()) return fail(w.error());
    print_restore("restore, cache warm", *w, c->ttft_s);
    rj["restore_warm"] = to_json(*w, c->ttft_s);
    warm_ratio.push_back(w->turn.ttft_s / c->ttft_s);
    same_tokens = same_tokens && w->turn.first_token == first.first_token;
    if (a.cold) {
      evict_page_cache(store_dir);
      auto k = restore(su, store_dir, host_bytes, prompt);
      if (!k.ok()) return fail(k.error());
      print_restore("restore, cache evicted", *k, c->ttft_s);
      rj["restore_cold"] = to_json(*k, c->ttft_s);
      cold_ratio.push_back(k->turn.ttft_s / c->ttft_s);
      same_tokens = same_tokens && k->turn.first_token == first.first_token;
    }
    out["repeats"].push_back(rj);
  }
  std::printf("median of %d: recompute %.3f s; restore/recompute warm %.3f", a.repeats,
              median(recompute_s), median(warm_ratio));
  if (a.cold) std::printf(", cold %.3f", median(cold_ratio));
  std::printf("; first tokens %s; load average %s\n", same_tokens ? "equal" : "DIFFER",
              load_average().c_str());
  out["median_recompute_s"] = median(recompute_s);
  out["median_ratio_warm"] = median(warm_ratio);
  if (a.cold) out["median_ratio_cold"] = median(cold_ratio);
  out["first_tokens_equal"] = same_tokens;
  out["load_average_end"] = load_average();
  if (!a.json_path.empty()) std::ofstream(a.json_path) << out.dump(2) << "\n";
  fs::remove_all(store_dir);
  return same_tokens ? 0 : 2;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  agentrt::bench::Args a;
  a.model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  CLI::App app{"KV restore from the persistent store against recompute (CPU)"};
  app.add_option("--model", a.model_dir, "Model directory (default models/tiny-calc)");
  app.add_option("--shape", a.shape, "Synthetic random-weight model shape (qwen2.5-0.5b)");
  app.add_option("--tokens", a.tokens, "Conversation length in tokens");
  app.add_option("--repeats", a.repeats, "Recompute/restore rounds (medians reported)")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", a.threads, "Threads (0 = all cores)");
  app.add_option("--host-tier-mb", a.host_tier_mb, "Host tier of the engines (starts empty)");
  app.add_flag("!--no-cold", a.cold, "Skip the restore after evicting the store from the cache");
  app.add_option("--json", a.json_path, "Write results as JSON here");
  CLI11_PARSE(app, argc, argv);
  return agentrt::bench::run(a);
}
