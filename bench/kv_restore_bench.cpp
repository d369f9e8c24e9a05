// KV restore against recompute, on the CPU or the GPU. A long agent conversation is
// prefilled once by an engine with a persistent KV store (storage::KvStore: RocksDB in a
// directory on local disk), whose blocks are flushed to it. Then, per repeat and in the same
// run, the first token of the same prompt (plus --tail new tokens, e.g. a tool result that
// no tier holds) comes from:
//   recompute      an engine without a store (empty KV pool);
//   device hit     an engine that answered the conversation before, so its prefix is on the
//                  device: only the tokens past its last full block (and the tail) are
//                  computed, the floor of any restore;
//   host restore   an engine whose host tier holds the blocks (a longer prompt evicted
//                  them from the device);
//   store restore  a new engine over a newly opened store on the same dir (as a restarted
//                  process: new Db, new KvStore, empty host tier), with the store's page
//                  cache warm (just written) and evicted.
// Reports time to first token, its ratio to recompute, the bytes restored, and the restore's
// exposed time (its TTFT minus the device hit's) with the rate that implies. Restores are
// not overlapped with compute: the KV manager copies a prefix's blocks in before the step
// that prefills the tail, and the tail's attention reads them, so all of it is exposed;
// with --tail, the device hit's time is the compute a layer-by-layer overlap could hide it
// behind.
//
// GPU (built in build-cuda; weights drawn on the device, no checkpoint is written), one line:
//   build-cuda/bench/kv_restore_bench --backend cuda --shape llama-3.1-8b --tokens 8192
//       --repeats 3 --json bench/results/kv_restore_cuda_llama-3.1-8b_8192.json
// and with a 512-token tool result after the restored conversation (same, plus):
//       --tail 512 --json bench/results/kv_restore_cuda_llama-3.1-8b_8192_tail512.json
// CPU:
//   kv_restore_bench [--model DIR | --shape qwen2.5-0.5b] [--tokens 3000] [--repeats 3]
//                    [--threads 0] [--host-tier-mb 0] [--tokens-per-step 0] [--no-cold]
//                    [--no-host] [--tail 0] [--store-dir DIR] [--json FILE]
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
#include "bench/read_only_tier.h"
#include "bench/synthetic_model.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/engine.h"
#include "engine/model/model.h"
#include "storage/db.h"
#include "storage/kv_store.h"
#ifdef AGENTRT_HAVE_CUDA
#include "bench/cuda_model_shapes.h"
#include "kernels/cuda_backend.h"
#include "kernels/device_info.h"
#endif

namespace agentrt::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr int kBlock = 16;

struct Args {
  std::string backend = "cpu";
  std::string model_dir;
  std::string shape;
  int tokens = 3000;
  int tail = 0;  // new tokens after the conversation in the timed prompt
  int repeats = 3;
  int threads = 0;
  int host_tier_mb = 0;     // 0: max(256 MB, three conversations' KV)
  int tokens_per_step = 0;  // 0: the engine's default on the CPU, 8192 on the GPU
  bool cold = true;
  bool host = true;
  std::string store_dir;
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

// Token ids of a conversation (their values do not change the cost), deterministic.
std::vector<std::int32_t> conversation(int n, int vocab, unsigned seed = 14) {
  std::mt19937 rng(seed);
  std::vector<std::int32_t> t(static_cast<std::size_t>(n));
  for (auto& x : t)
    x = static_cast<std::int32_t>(rng() % static_cast<unsigned>(vocab));
  return t;
}

// The backend, model config and KV pool every engine of the run uses.
struct Setup {
  std::string backend = "cpu";
  std::string device = "cpu";
  std::string model_name;  // directory or shape
  model::ModelConfig config;
  std::string fingerprint;
  std::shared_ptr<const model::Model> model;  // CPU: each engine gets a new backend on it
  std::unique_ptr<Backend> shared;            // GPU: one backend, one engine at a time
  int blocks = 0;
  int threads = 0;
  int tokens_per_step = 0;
  std::size_t host_bytes = 0;
};

// An engine and the backend it owns (CPU) or borrows (GPU); the engine goes first.
struct Rig {
  std::unique_ptr<Backend> own;
  std::unique_ptr<Engine> engine;
};

// Creating the backend is not timed anywhere.
Result<Rig> make_rig(const Setup& su, kv::KvTier* store, std::size_t host_bytes) {
  Rig r;
  Backend* b = su.shared.get();
  if (b == nullptr) {
    auto cpu = cpu::CpuBackend::create(su.model, {su.blocks, kBlock, su.threads});
    AGENTRT_TRY(cpu);
    r.own = std::move(*cpu);
    b = r.own.get();
  }
  EngineOptions eo;
  eo.host_tier_bytes = host_bytes;
  // The writer's whole conversation fits in the write-behind queue (8k tokens of an 8B
  // model: 1 GB).
  eo.persist.max_queued_bytes = std::max(eo.persist.max_queued_bytes, su.host_bytes);
  if (su.tokens_per_step > 0) eo.max_tokens_per_step = su.tokens_per_step;
  auto e = Engine::create({b, &su.config, su.fingerprint, store, nullptr}, eo);
  AGENTRT_TRY(e);
  r.engine = std::move(*e);
  return r;
}

struct Turn {
  double ttft_s = 0;
  std::int64_t prefilled = 0;                      // tokens this request computed
  std::array<std::int64_t, kv::kMaxTiers> hits{};  // its prompt tokens found, per tier
  std::int32_t first_token = -1;
  kv::KvMetrics kv;  // after it
};

// Time from add_request to the first token of a greedy one-token request.
Result<Turn> first_token(Engine& e, const std::vector<std::int32_t>& prompt) {
  EngineRequest r;
  r.prompt = prompt;
  r.params.temperature = 0.0f;
  r.params.max_tokens = 1;
  r.params.ignore_eos = true;
  Turn out;
  const std::int64_t prefilled0 = e.stats().prefilled_tokens;
  const auto hits0 = e.kv_metrics().hit_tokens;
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
  out.prefilled = e.stats().prefilled_tokens - prefilled0;
  out.kv = e.kv_metrics();
  for (std::size_t i = 0; i < out.hits.size(); ++i)
    out.hits[i] = out.kv.hit_tokens[i] - hits0[i];
  return out;
}

struct Store {
  std::shared_ptr<storage::Db> db;
  std::unique_ptr<storage::KvStore> kv;
  std::unique_ptr<ReadOnlyTier> read_only;  // restores: the writer's blocks only, no writes
  std::unique_ptr<CountingTier> counting;   // over read_only when there is one, else kv
  double open_s = 0;
};

Result<Store> open_store(const fs::path& dir, const std::string& fingerprint,
                         bool read_only = false) {
  Store s;
  const auto t0 = Clock::now();
  auto db = storage::Db::open(dir);
  AGENTRT_TRY(db);
  auto kv = storage::KvStore::open(*db, fingerprint);
  AGENTRT_TRY(kv);
  s.open_s = seconds_since(t0);
  s.db = std::move(*db);
  s.kv = std::move(*kv);
  if (read_only) s.read_only = std::make_unique<ReadOnlyTier>(s.kv.get());
  s.counting = std::make_unique<CountingTier>(
      read_only ? static_cast<kv::KvTier*>(s.read_only.get()) : s.kv.get());
  return s;
}

// One engine answering the prompt; with `flush`, its blocks are then written to the store.
Result<Turn> run_engine(const Setup& su, kv::KvTier* tier, const std::vector<std::int32_t>& prompt,
                        bool flush = false, double* flush_s = nullptr) {
  auto rig = make_rig(su, tier, su.host_bytes);
  AGENTRT_TRY(rig);
  auto turn = first_token(*rig->engine, prompt);
  AGENTRT_TRY(turn);
  if (flush) {
    const auto t0 = Clock::now();
    AGENTRT_TRY(rig->engine->flush_persistent());
    *flush_s = seconds_since(t0);
    turn->kv = rig->engine->kv_metrics();
  }
  return turn;
}

// The token sequences of a run.
struct Prompts {
  std::vector<std::int32_t> history;  // the conversation the tiers hold
  std::vector<std::int32_t> next;     // history + the tail: the timed prompt
  std::vector<std::int32_t> filler;   // takes nearly the whole pool (evicts history)
};

// Recompute of `next` on an empty pool, then `next` on an engine that answered `history`.
Result<std::pair<Turn, Turn>> recompute_and_hit(const Setup& su, const Prompts& p) {
  auto rig = make_rig(su, nullptr, su.host_bytes);
  AGENTRT_TRY(rig);
  auto c = first_token(*rig->engine, p.next);
  AGENTRT_TRY(c);
  if (p.next.size() != p.history.size()) {
    rig->engine.reset();  // before its backend, and before another engine shares it
    rig->own.reset();
    rig = make_rig(su, nullptr, su.host_bytes);
    AGENTRT_TRY(rig);
    AGENTRT_TRY(first_token(*rig->engine, p.history));
  }
  auto d = first_token(*rig->engine, p.next);
  AGENTRT_TRY(d);
  return std::pair{*c, *d};
}

// `history` once, then `filler` (so history's cached blocks go to the host tier), then
// `next`: its prefix restored from the host tier.
Result<Turn> host_restore(const Setup& su, const Prompts& p) {
  auto rig = make_rig(su, nullptr, su.host_bytes);
  AGENTRT_TRY(rig);
  AGENTRT_TRY(first_token(*rig->engine, p.history));
  AGENTRT_TRY(first_token(*rig->engine, p.filler));
  return first_token(*rig->engine, p.next);
}

struct Restore {
  Turn turn;
  double open_s = 0;
  CacheState cache;
  std::int64_t bytes_read = 0;
  std::int64_t read_calls = 0;  // get/get_many calls
  double read_s = 0;
};

Result<Restore> store_restore(const Setup& su, const fs::path& dir,
                              const std::vector<std::int32_t>& prompt) {
  Restore r;
  r.cache = page_cache_state(dir);
  auto store = open_store(dir, su.fingerprint, true);
  AGENTRT_TRY(store);
  r.open_s = store->open_s;
  auto turn = run_engine(su, store->counting.get(), prompt);
  AGENTRT_TRY(turn);
  r.turn = *turn;
  r.bytes_read = store->counting->bytes_read();
  r.read_s = store->counting->read_seconds();
  r.read_calls = store->counting->calls();
  return r;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Figures shared by the host and store restores, against this repeat's recompute and
// device hit. `bytes`: KV restored from the lower tier.
nlohmann::json restore_json(const Turn& t, double bytes, double recompute_s, double hit_s) {
  const double exposed = t.ttft_s - hit_s;
  // Within noise of the device hit (CPU, short prompts): no rate.
  const nlohmann::json rate = exposed > 0 ? nlohmann::json(bytes / 1e9 / exposed) : nullptr;
  return {{"ttft_s", t.ttft_s},
          {"prefilled_tokens", t.prefilled},
          {"device_hit_tokens", t.hits[0]},
          {"host_hit_tokens", t.hits[1]},
          {"store_hit_tokens", t.hits[2]},
          {"restored_bytes", bytes},
          {"exposed_s", t.ttft_s - hit_s},
          {"exposed_share_of_ttft", (t.ttft_s - hit_s) / t.ttft_s},
          {"restore_gb_per_s", rate},
          {"ratio_to_recompute", t.ttft_s / recompute_s}};
}

nlohmann::json to_json(const Restore& r, double bytes, double recompute_s, double hit_s) {
  nlohmann::json j = restore_json(r.turn, bytes, recompute_s, hit_s);
  j.update({{"store_open_s", r.open_s},
            {"bytes_read", r.bytes_read},
            {"read_s", r.read_s},
            {"read_calls", r.read_calls},
            {"read_mb_per_s", static_cast<double>(r.bytes_read) / 1e6 / r.read_s},
            {"store_file_bytes", r.cache.file_bytes},
            {"store_resident_bytes", r.cache.resident_bytes},
            {"ratio_with_open", (r.turn.ttft_s + r.open_s) / recompute_s}});
  return j;
}

void print_header() {
  std::printf("%-22s %9s %9s %9s %9s %9s %9s %8s %7s %7s %8s %8s\n", "case", "ttft s", "prefilled",
              "dev hit", "lower hit", "MB in", "exposed s", "GB/s", "open s", "cached", "ratio",
              "w/ open");
}

// One row; `r` is null for the cases without a store.
void print_row(const char* name, const Turn& t, double bytes, double recompute_s, double hit_s,
               const Restore* r) {
  const bool restored = bytes > 0;
  const double exposed = t.ttft_s - hit_s;
  std::printf("%-22s %9.3f %9lld %9lld %9lld %9.1f ", name, t.ttft_s,
              static_cast<long long>(t.prefilled), static_cast<long long>(t.hits[0]),
              static_cast<long long>(t.hits[1] + t.hits[2]), bytes / 1e6);
  if (restored && exposed > 0)
    std::printf("%9.3f %8.2f ", exposed, bytes / 1e9 / exposed);
  else if (restored)
    std::printf("%9.3f %8s ", exposed, "-");
  else
    std::printf("%9s %8s ", "-", "-");
  if (r != nullptr) {
    const double cached = r->cache.file_bytes == 0
                              ? 0.0
                              : 100.0 * static_cast<double>(r->cache.resident_bytes) /
                                    static_cast<double>(r->cache.file_bytes);
    std::printf("%7.3f %6.1f%% %8.3f %8.3f\n", r->open_s, cached, t.ttft_s / recompute_s,
                (t.ttft_s + r->open_s) / recompute_s);
  } else {
    std::printf("%7s %7s %8.3f %8s\n", "-", "-", t.ttft_s / recompute_s, "-");
  }
}

int fail(const Error& e) {
  std::fprintf(stderr, "kv_restore_bench: %s\n", e.to_string().c_str());
  return 1;
}

// Setup for --backend cpu: a checkpoint (or a synthetic one written for --shape).
Result<Setup> cpu_setup(const Args& a) {
  Setup su;
  std::string dir = a.model_dir;
  if (!a.shape.empty()) {
    dir = (fs::temp_directory_path() / ("agentrt-bench-" + a.shape)).string();
    AGENTRT_TRY(write_synthetic_model(a.shape, dir));
  }
  auto model = model::Model::load(dir);
  AGENTRT_TRY(model);
  su.model = *model;
  su.model_name = dir;
  su.config = su.model->config();
  su.fingerprint = su.model->fingerprint();
  su.threads = a.threads > 0 ? a.threads : static_cast<int>(std::thread::hardware_concurrency());
  su.tokens_per_step = a.tokens_per_step;
  return su;
}

// Setup for --backend cuda: random weights of a published shape, drawn on the device.
Result<Setup> cuda_setup(const Args& a, int blocks) {
#ifdef AGENTRT_HAVE_CUDA
  Setup su;
  su.backend = "cuda";
  const std::string shape = a.shape.empty() ? "llama-3.1-8b" : a.shape;
  auto cfg = shape_config(shape);
  AGENTRT_TRY(cfg);
  su.config = *cfg;
  su.fingerprint = "random-" + shape + "-seed42";
  su.model_name = shape + " (random weights)";
  kernels::CudaBackendOptions opt;
  opt.num_blocks = blocks;
  opt.block_size = kBlock;
  auto b = kernels::CudaBackend::create_random(su.config, opt, 42);
  AGENTRT_TRY(b);
  su.shared = std::move(*b);
  auto devices = kernels::list_devices();
  su.device = devices.ok() && !devices->empty() ? (*devices)[0].name : "?";
  su.tokens_per_step = a.tokens_per_step > 0 ? a.tokens_per_step : 8192;
  return su;
#else
  (void)a;
  (void)blocks;
  return make_error(ErrorCode::unsupported,
                    "--backend cuda: built without CUDA (use the build-cuda build)");
#endif
}

Result<Setup> make_setup(const Args& a) {
  const int blocks = (a.tokens + a.tail) / kBlock + 4;
  if (a.backend != "cpu" && a.backend != "cuda")
    return make_error(ErrorCode::invalid_argument, "--backend: expected cpu or cuda");
  auto su = a.backend == "cuda" ? cuda_setup(a, blocks) : cpu_setup(a);
  AGENTRT_TRY(su);
  su->blocks = blocks;
  // Bytes of KV one conversation takes: every layer's K and V, 2-byte (GPU) or 4-byte (CPU).
  const std::size_t elem = a.backend == "cuda" ? 2 : 4;
  const std::size_t kv_bytes = 2 * elem * static_cast<std::size_t>(su->config.num_layers) *
                               static_cast<std::size_t>(su->config.num_kv_heads) *
                               static_cast<std::size_t>(su->config.head_dim) *
                               static_cast<std::size_t>(a.tokens);
  su->host_bytes = a.host_tier_mb > 0 ? static_cast<std::size_t>(a.host_tier_mb) << 20
                                      : std::max<std::size_t>(256u << 20, 3 * kv_bytes);
  return su;
}

// Medians over the repeats, and whether every first token matched.
struct Summary {
  std::vector<double> recompute, hit, host, warm, cold;
  bool restores_equal = true;  // every restore's first token equals the device hit's
  bool all_equal = true;       // ... and the recompute's too
};

// One repeat: every case once. Appends to `s`, returns the repeat's JSON.
Result<nlohmann::json> repeat_once(const Setup& su, const Args& a, const fs::path& store_dir,
                                   const Prompts& p, Summary& s) {
  nlohmann::json rj;
  auto ch = recompute_and_hit(su, p);
  AGENTRT_TRY(ch);
  const Turn& c = ch->first;
  const Turn& d = ch->second;
  const double bb = static_cast<double>(d.kv.block_bytes);
  s.recompute.push_back(c.ttft_s);
  s.hit.push_back(d.ttft_s);
  print_row("recompute (no store)", c, 0, c.ttft_s, d.ttft_s, nullptr);
  print_row("device hit", d, 0, c.ttft_s, d.ttft_s, nullptr);
  rj["recompute"] = {{"ttft_s", c.ttft_s}, {"prefilled_tokens", c.prefilled}};
  rj["device_hit"] = {{"ttft_s", d.ttft_s},
                      {"prefilled_tokens", d.prefilled},
                      {"device_hit_tokens", d.hits[0]},
                      {"ratio_to_recompute", d.ttft_s / c.ttft_s}};
  s.all_equal = s.all_equal && d.first_token == c.first_token;
  auto note = [&](const Turn& t) {
    s.restores_equal = s.restores_equal && t.first_token == d.first_token;
    s.all_equal = s.all_equal && t.first_token == c.first_token;
  };
  if (a.host) {
    auto h = host_restore(su, p);
    AGENTRT_TRY(h);
    const double bytes = static_cast<double>(h->hits[1]) / kBlock * bb;
    print_row("restore, host tier", *h, bytes, c.ttft_s, d.ttft_s, nullptr);
    rj["restore_host"] = restore_json(*h, bytes, c.ttft_s, d.ttft_s);
    s.host.push_back(h->ttft_s / c.ttft_s);
    note(*h);
  }
  for (bool evicted : {false, true}) {
    if (evicted && !a.cold) break;
    if (evicted) evict_page_cache(store_dir);
    auto r = store_restore(su, store_dir, p.next);
    AGENTRT_TRY(r);
    const double bytes = static_cast<double>(r->turn.hits[2]) / kBlock * bb;
    print_row(evicted ? "restore, store evicted" : "restore, store warm", r->turn, bytes, c.ttft_s,
              d.ttft_s, &*r);
    rj[evicted ? "restore_cold" : "restore_warm"] = to_json(*r, bytes, c.ttft_s, d.ttft_s);
    (evicted ? s.cold : s.warm).push_back(r->turn.ttft_s / c.ttft_s);
    note(r->turn);
  }
  return rj;
}

// GPU only: kernels loaded and GEMM plans made for the chunk shapes the cases use.
Status warm_up(const Setup& su, const Prompts& p) {
  if (!su.shared) return ok_status();
  std::vector<std::int32_t> other =
      conversation(static_cast<int>(p.history.size()), su.config.vocab_size, 99);
  auto rig = make_rig(su, nullptr, su.host_bytes);
  AGENTRT_TRY(rig);
  AGENTRT_TRY(first_token(*rig->engine, other));
  other.insert(other.end(), p.next.begin() + static_cast<std::ptrdiff_t>(p.history.size()),
               p.next.end());
  AGENTRT_TRY(first_token(*rig->engine, other));
  AGENTRT_TRY(first_token(*rig->engine, other));
  AGENTRT_TRY(first_token(*rig->engine, p.filler));
  return ok_status();
}

// Engine A prefills with the store attached and flushes its blocks to it.
Result<Turn> write_store(const Setup& su, const fs::path& store_dir,
                         const std::vector<std::int32_t>& prompt, nlohmann::json& out) {
  double flush_s = 0;
  auto store = open_store(store_dir, su.fingerprint);
  AGENTRT_TRY(store);
  auto t = run_engine(su, store->counting.get(), prompt, true, &flush_s);
  AGENTRT_TRY(t);
  AGENTRT_TRY(store->db->flush());
  std::printf("A (prefill + write-behind): ttft %.3f s, %lld blocks persisted, flush %.3f s\n",
              t->ttft_s, static_cast<long long>(t->kv.persisted_blocks), flush_s);
  out["write"] = {{"ttft_s", t->ttft_s},
                  {"store_open_s", store->open_s},
                  {"persisted_blocks", t->kv.persisted_blocks},
                  {"persist_errors", t->kv.persist_errors},
                  {"flush_s", flush_s},
                  {"store_file_bytes", page_cache_state(store_dir).file_bytes}};
  return t;
}

void print_summary(const Args& a, const Summary& s, nlohmann::json& out) {
  std::printf("median of %d: recompute %.3f s, device hit %.3f s; restore/recompute", a.repeats,
              median(s.recompute), median(s.hit));
  if (a.host) std::printf(" host %.3f,", median(s.host));
  std::printf(" store warm %.3f", median(s.warm));
  if (a.cold) std::printf(", evicted %.3f", median(s.cold));
  std::printf("; first tokens %s; load average %s\n",
              s.all_equal        ? "equal"
              : s.restores_equal ? "of restores equal the device hit's, recompute's DIFFER"
                                 : "DIFFER",
              load_average().c_str());
  out["median_recompute_s"] = median(s.recompute);
  out["median_device_hit_s"] = median(s.hit);
  if (a.host) out["median_ratio_host"] = median(s.host);
  out["median_ratio_warm"] = median(s.warm);
  if (a.cold) out["median_ratio_cold"] = median(s.cold);
  out["first_tokens_equal"] = s.all_equal;
  out["restore_first_tokens_equal"] = s.restores_equal;
  out["load_average_end"] = load_average();
}

int run(const Args& a) {
  auto su = make_setup(a);
  if (!su.ok()) return fail(su.error());
  Prompts p;
  p.history = conversation(a.tokens, su->config.vocab_size);
  p.next = p.history;
  const auto tail = conversation(a.tail, su->config.vocab_size, 3);
  p.next.insert(p.next.end(), tail.begin(), tail.end());
  // Takes every block but one or two, within the model's context.
  const int filler_len = std::min((su->blocks - 2) * kBlock, su->config.max_context() - kBlock);
  p.filler = conversation(filler_len, su->config.vocab_size, 7);
  const fs::path store_dir = a.store_dir.empty()
                                 ? fs::temp_directory_path() / "agentrt-kv-restore-bench"
                                 : fs::path(a.store_dir);
  fs::remove_all(store_dir);
  nlohmann::json out = {{"backend", su->backend},
                        {"device", su->device},
                        {"model", su->model_name},
                        {"tokens", a.tokens},
                        {"tail_tokens", a.tail},
                        {"threads", su->threads},
                        {"kv_blocks", su->blocks},
                        {"tokens_per_step", su->tokens_per_step},
                        {"host_tier_bytes", su->host_bytes},
                        {"store_dir", store_dir.string()},
                        {"overlap", "none: restores complete before the tail's prefill"},
                        {"load_average_start", load_average()}};
  if (auto st = warm_up(*su, p); !st.ok()) return fail(st.error());
  auto first = write_store(*su, store_dir, p.history, out);
  if (!first.ok()) return fail(first.error());
  std::printf("%s (%s), %d tokens, %d KV blocks, %d threads, load average %s\n", su->device.c_str(),
              su->model_name.c_str(), a.tokens, su->blocks, su->threads, load_average().c_str());
  print_header();
  Summary s;
  for (int rep = 0; rep < a.repeats; ++rep) {
    auto rj = repeat_once(*su, a, store_dir, p, s);
    if (!rj.ok()) return fail(rj.error());
    out["repeats"].push_back(*rj);
  }
  print_summary(a, s, out);
  if (!a.json_path.empty()) std::ofstream(a.json_path) << out.dump(2) << "\n";
  fs::remove_all(store_dir);
  // On the GPU a full prefill and a short tail may round differently (bf16), so only the
  // restores must agree with the device hit; on the CPU every first token must agree.
  return (su->shared ? s.restores_equal : s.all_equal) ? 0 : 2;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  agentrt::bench::Args a;
  a.model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  CLI::App app{"KV restore (host tier, persistent store) against recompute, CPU or GPU"};
  app.add_option("--backend", a.backend, "cpu, or cuda (random weights of --shape)");
  app.add_option("--model", a.model_dir, "CPU: model directory (default models/tiny-calc)");
  app.add_option("--shape", a.shape,
                 "CPU: synthetic model (qwen2.5-0.5b); cuda: qwen2.5-0.5b or llama-3.1-8b "
                 "(default)");
  app.add_option("--tokens", a.tokens, "Conversation length in tokens")
      ->check(CLI::Range(32, 1 << 20));
  app.add_option("--tail", a.tail, "New tokens after the conversation in the timed prompt")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--repeats", a.repeats, "Rounds of every case (medians reported)")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", a.threads, "CPU threads (0 = all cores)");
  app.add_option("--host-tier-mb", a.host_tier_mb,
                 "Host tier of the engines (0: max(256, 3 conversations' KV))");
  app.add_option("--tokens-per-step", a.tokens_per_step,
                 "Engine max_tokens_per_step (0: 512 on the CPU, 8192 on the GPU)");
  app.add_flag("!--no-cold", a.cold, "Skip the restore after evicting the store from the cache");
  app.add_flag("!--no-host", a.host, "Skip the restore from the host tier");
  app.add_option("--store-dir", a.store_dir, "The store's directory (default: a temp dir)");
  app.add_option("--json", a.json_path, "Write results as JSON here");
  CLI11_PARSE(app, argc, argv);
  return agentrt::bench::run(a);
}
