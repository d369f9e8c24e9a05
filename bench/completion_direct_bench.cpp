// Small chat completions through the engine without HTTP: the baseline that
// bench/openai_load.sh divides the server's figures by, so the OpenAI API's own overhead
// (HTTP, JSON bodies, chat rendering per request, detokenizing, SSE) shows as a ratio.
// It loads a model with actors::Runtime, renders one chat once (engine/chat, as the server
// does with --thinking off), then for each concurrency C runs C client threads for T
// seconds, each looping Runtime::start_completion + CompletionStream::next until the
// choice ends. Reports requests/s, TTFT (first event with tokens) and end-to-end p50/p99,
// CPU ms per request, and requests/s as a ratio to concurrency 1 of the same run; then times
// the server's per-request work outside the engine and HTTP (api_work). Writes JSON.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include <sys/resource.h>

#include "actors/completion_stream.h"
#include "actors/runtime.h"
#include "api/body/openai_request.h"
#include "api/body/openai_response.h"
#include "engine/chat/chat_template.h"
#include "engine/scheduler/scheduler.h"
#include "storage/db.h"
#include "storage/kv_store.h"

namespace agentrt::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

struct Options {
  std::string model = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  std::vector<int> clients = {1, 4, 16};
  double seconds = 20;
  double warmup_s = 1;
  int max_tokens = 8;
  int threads = 1;
  int kv_blocks = 0;  // 0: the runtime's default, as `agentrt serve`
  // The persistent KV tier `agentrt serve` has (RocksDB under DIR, 16 GiB bound); empty: none.
  std::string kv_store;
  std::string system;
  std::string user =
      "Sam has 13 stamps. Kate has 7 more stamps than Sam. How many stamps does "
      "Kate have?";
  std::string json = "bench/results/completion_direct_tiny-calc.json";
  std::string schedule = "attained";  // the engine's queue order, as `agentrt serve --schedule`
};

struct Sample {
  double ttft_s = -1, e2e_s = 0;
  std::int64_t tokens = 0;
};

struct ClientLog {
  std::vector<Sample> samples;
  std::int64_t errors = 0;
  std::string first_error;
};

// One request: start, drain until its choice ends. Errors (overloaded, ...) are values.
Result<Sample> one_completion(actors::Runtime& rt, const actors::CompletionRequest& req) {
  const auto t0 = Clock::now();
  auto stream = rt.start_completion(req);
  if (!stream.ok()) return stream.error();
  Sample s;
  actors::CompletionEvent e;
  while ((*stream)->next(e, Clock::now() + std::chrono::seconds(60))) {
    if (e.error) return *e.error;
    if (!e.tokens.empty() && s.ttft_s < 0)
      s.ttft_s = std::chrono::duration<double>(Clock::now() - t0).count();
    s.tokens += static_cast<std::int64_t>(e.tokens.size());
    if (e.ends()) break;
  }
  s.e2e_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return s;
}

// The tokens of one reply (for api_work).
std::vector<std::int32_t> reply_tokens(actors::Runtime& rt, const actors::CompletionRequest& req) {
  std::vector<std::int32_t> out;
  auto stream = rt.start_completion(req);
  if (!stream.ok()) return out;
  actors::CompletionEvent e;
  while ((*stream)->next(e, Clock::now() + std::chrono::seconds(60))) {
    for (const auto& t : e.tokens)
      out.push_back(t.token);
    if (e.ends()) break;
  }
  return out;
}

// C threads loop requests until `end`; only requests started before `end` are counted.
std::vector<ClientLog> run_clients(actors::Runtime& rt, const actors::CompletionRequest& req,
                                   int clients, Clock::time_point end) {
  std::vector<ClientLog> logs(static_cast<std::size_t>(clients));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto& log = logs[static_cast<std::size_t>(c)];
      while (Clock::now() < end) {
        auto s = one_completion(rt, req);
        if (s.ok()) {
          log.samples.push_back(*s);
        } else {
          if (log.errors++ == 0) log.first_error = s.error().message;
        }
      }
    });
  for (auto& t : threads)
    t.join();
  return logs;
}

// CPU seconds of this process (every thread, user + system).
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v)
    sum += x;
  return sum / static_cast<double>(v.size());
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

Json summarize(int clients, double wall_s, const std::vector<ClientLog>& logs) {
  std::vector<double> ttft, e2e;
  std::int64_t tokens = 0, errors = 0;
  std::string first_error;
  for (const auto& l : logs) {
    for (const auto& s : l.samples) {
      if (s.ttft_s >= 0) ttft.push_back(s.ttft_s);
      e2e.push_back(s.e2e_s);
      tokens += s.tokens;
    }
    errors += l.errors;
    if (first_error.empty()) first_error = l.first_error;
  }
  const auto n = static_cast<double>(e2e.size());
  return Json{{"clients", clients},
              {"seconds", wall_s},
              {"requests", e2e.size()},
              {"errors", errors},
              {"first_error", first_error},
              {"requests_per_s", n / wall_s},
              {"completion_tokens_per_request", n > 0 ? static_cast<double>(tokens) / n : 0.0},
              {"ttft_p50_ms", 1e3 * quantile(ttft, 0.50)},
              {"ttft_p99_ms", 1e3 * quantile(ttft, 0.99)},
              {"ttft_mean_ms", ttft.empty() ? 0.0 : 1e3 * mean(ttft)},
              {"e2e_mean_ms", e2e.empty() ? 0.0 : 1e3 * mean(e2e)},
              {"e2e_p50_ms", 1e3 * quantile(e2e, 0.50)},
              {"e2e_p99_ms", 1e3 * quantile(e2e, 0.99)}};
}

Result<actors::CompletionRequest> make_request(const actors::Runtime& rt, const Options& o,
                                               std::int64_t* prompt_tokens) {
  chat::Conversation conv;
  if (!o.system.empty()) conv.messages.push_back({chat::Role::system, o.system, {}, {}, {}, {}});
  conv.messages.push_back({chat::Role::user, o.user, {}, {}, {}, {}});
  chat::RenderOptions ro;
  ro.add_generation_prompt = true;
  ro.enable_thinking = false;  // tiny-calc's documented shape; the server runs --thinking off
  if (rt.tokenizer().bos_id()) ro.bos_token = rt.tokenizer().config().bos_token;
  auto text = chat::render(rt.chat_family(), conv, ro);
  if (!text.ok()) return text.error();
  actors::CompletionRequest req;
  req.request.prompt = rt.tokenizer().encode(*text, false);
  req.request.params.temperature = 0.0f;
  req.request.params.max_tokens = o.max_tokens;
  *prompt_tokens = static_cast<std::int64_t>(req.request.prompt.size());
  return req;
}

// Mean microseconds of fn over `iterations` calls.
template <class Fn>
double mean_us(int iterations, Fn&& fn) {
  const auto t0 = Clock::now();
  for (int i = 0; i < iterations; ++i)
    fn();
  return 1e6 * std::chrono::duration<double>(Clock::now() - t0).count() / iterations;
}

// What the server does per request besides the engine and HTTP, timed on one thread with
// the same body and a real reply's tokens: parse the body, render and encode the chat,
// decode the tokens, build the reply (whole, and as SSE chunks).
Result<Json> api_work(const actors::Runtime& rt, const Options& o,
                      const std::vector<std::int32_t>& reply_tokens) {
  const Json body_json{{"model", "tiny-calc"},
                       {"messages", Json::array({{{"role", "user"}, {"content", o.user}}})},
                       {"max_tokens", o.max_tokens},
                       {"temperature", 0}};
  const std::string body = body_json.dump();
  const auto parsed = api::parse_openai_request(body, api::OpenAiEndpoint::chat);
  if (!parsed.ok()) return Error{ErrorCode::invalid_argument, parsed.error().message};
  const auto& tok = rt.tokenizer();
  chat::RenderOptions ro;
  ro.add_generation_prompt = true;
  ro.enable_thinking = false;
  auto text = tok.decode(reply_tokens);
  if (!text.ok()) return text.error();
  api::openai::ReplyHead head{"chatcmpl-bench", 0, "tiny-calc", api::OpenAiEndpoint::chat};
  api::openai::ChoiceOut choice;
  choice.content = *text;
  choice.finish_reason = "length";
  constexpr int kIterations = 2000;
  std::size_t sink = 0;  // keeps the work from being optimised away
  Json r;
  r["parse_body_us"] = mean_us(kIterations, [&] {
    sink += api::parse_openai_request(body, api::OpenAiEndpoint::chat).ok() ? 1 : 0;
  });
  r["render_encode_us"] = mean_us(kIterations, [&] {
    auto t = chat::render(rt.chat_family(), parsed->conversation, ro);
    if (t.ok()) sink += tok.encode(*t, false).size();
  });
  r["decode_us"] = mean_us(kIterations, [&] {
    for (auto id : reply_tokens)  // the server decodes as tokens arrive
      if (auto piece = tok.decode(std::span(&id, 1)); piece.ok()) sink += piece->size();
  });
  r["reply_json_us"] = mean_us(kIterations, [&] {
    sink += api::openai::completion_json(head, std::span(&choice, 1),
                                         api::openai::usage_json(35, 8, 32))
                .dump()
                .size();
  });
  r["sse_chunks_us"] = mean_us(kIterations, [&] {
    sink += api::openai::chat_role_chunk(head, 0).dump().size();
    for (auto id : reply_tokens)
      sink += api::openai::chat_content_chunk(head, 0, std::to_string(id)).dump().size();
    sink += api::openai::chat_finish_chunk(head, 0, "length").dump().size();
  });
  r["iterations"] = kIterations;
  r["checksum"] = sink;
  return r;
}

// The runtime as `agentrt serve` has it (with --kv-store: its RocksDB KV tier too).
Result<std::unique_ptr<actors::Runtime>> make_runtime(const Options& o) {
  actors::RuntimeOptions ro;
  ro.model_dir = o.model;
  ro.cpu_threads = o.threads;
  if (o.kv_blocks > 0) ro.kv_blocks = o.kv_blocks;
  ro.engine.order = *scheduler::parse_order(o.schedule);  // CLI11 checked the name
  if (!o.kv_store.empty()) {
    auto db = storage::Db::open(o.kv_store);
    if (!db.ok()) return db.error();
    storage::KvStoreOptions kv;
    kv.max_bytes = 16ull << 30;  // api::kDefaultKvStoreBytes
    ro.persistent = storage::KvStore::tier_factory(*db, kv);
  }
  return actors::Runtime::create(ro);
}

// One point per concurrency in o.clients, printed as a table row each.
Json run_points(actors::Runtime& rt, const actors::CompletionRequest& req, const Options& o) {
  Json points = Json::array();
  std::printf("%8s %10s %10s %9s %9s %9s %9s %8s %9s %7s\n", "clients", "requests", "req/s",
              "ttft p50", "ttft p99", "e2e p50", "e2e p99", "x c=1", "cpu/req", "errors");
  double base_rps = 0;
  for (int c : o.clients) {
    const auto t0 = Clock::now();
    const double cpu0 = cpu_seconds();
    const auto end =
        t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
    auto logs = run_clients(rt, req, c, end);
    // Requests/s over the time the clients ran (the last requests end after `end`).
    auto p = summarize(c, std::chrono::duration<double>(Clock::now() - t0).count(), logs);
    const double rps = p["requests_per_s"].get<double>();
    const auto done = p["requests"].get<double>();
    p["cpu_ms_per_request"] = done > 0 ? 1e3 * (cpu_seconds() - cpu0) / done : 0.0;
    if (base_rps == 0) base_rps = rps;
    p["ratio_to_first_point"] = base_rps > 0 ? rps / base_rps : 0.0;
    std::printf("%8d %10lld %10.1f %7.2fms %7.2fms %7.2fms %7.2fms %7.2fx %7.2fms %7lld\n", c,
                static_cast<long long>(p["requests"].get<std::int64_t>()), rps,
                p["ttft_p50_ms"].get<double>(), p["ttft_p99_ms"].get<double>(),
                p["e2e_p50_ms"].get<double>(), p["e2e_p99_ms"].get<double>(),
                p["ratio_to_first_point"].get<double>(), p["cpu_ms_per_request"].get<double>(),
                static_cast<long long>(p["errors"].get<std::int64_t>()));
    points.push_back(std::move(p));
  }
  return points;
}

int fail(const Error& e) {
  std::fprintf(stderr, "completion_direct_bench: %s\n", e.message.c_str());
  return 1;
}

int run(const Options& o) {
  auto rt = make_runtime(o);
  if (!rt.ok()) return fail(rt.error());
  std::int64_t prompt_tokens = 0;
  auto req = make_request(**rt, o, &prompt_tokens);
  if (!req.ok()) return fail(req.error());
  // Warm-up: caches the prompt's full blocks, as the server's first requests do.
  run_clients(**rt, *req, 1,
              Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(o.warmup_s)));
  Json points = run_points(**rt, *req, o);
  auto work = api_work(**rt, o, reply_tokens(**rt, *req));
  if (!work.ok()) return fail(work.error());
  std::printf(
      "per request, one thread: parse body %.1f us, render + encode %.1f us, decode "
      "%.1f us, reply JSON %.1f us (or SSE chunks %.1f us)\n",
      (*work)["parse_body_us"].get<double>(), (*work)["render_encode_us"].get<double>(),
      (*work)["decode_us"].get<double>(), (*work)["reply_json_us"].get<double>(),
      (*work)["sse_chunks_us"].get<double>());
  const auto m = (*rt)->metrics();
  Json out{{"bench", "completion_direct"},
           {"model", o.model},
           {"threads", o.threads},
           {"kv_blocks", m.kv_blocks},
           {"kv_store", !o.kv_store.empty()},
           {"max_tokens", o.max_tokens},
           {"prompt_tokens", prompt_tokens},
           {"seconds_per_point", o.seconds},
           {"engine_steps", m.engine.steps},
           {"step_seconds", m.step_seconds},
           {"loop_seconds", m.loop_seconds},
           {"api_work_per_request", *work},
           {"points", points}};
  std::ofstream f(o.json);
  f << out.dump(2) << "\n";
  if (!f) return fail(Error{ErrorCode::io, "cannot write " + o.json});
  std::printf("wrote %s\n", o.json.c_str());
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  agentrt::bench::Options o;
  CLI::App app{"Chat completions through Runtime::start_completion, without HTTP"};
  app.add_option("--model", o.model, "Model directory (default tiny-calc)");
  app.add_option("--clients", o.clients, "Concurrencies, e.g. --clients 1 4 16");
  app.add_option("--seconds", o.seconds, "Seconds per concurrency (default 20)");
  app.add_option("--warmup", o.warmup_s, "Warm-up seconds, one client (default 1)");
  app.add_option("--max-tokens", o.max_tokens, "max_tokens per request (default 8)");
  app.add_option("--threads", o.threads, "CPU backend threads (default 1)");
  app.add_option("--kv-blocks", o.kv_blocks, "KV blocks (default: the runtime's)");
  app.add_option("--kv-store", o.kv_store,
                 "RocksDB directory for the persistent KV tier, as agentrt serve has");
  app.add_option("--system", o.system, "System message (default none)");
  app.add_option("--user", o.user, "User message");
  app.add_option("--json", o.json, "JSON output path");
  app.add_option("--schedule", o.schedule, "Engine queue order: attained (default), program, fcfs")
      ->check(CLI::IsMember({"attained", "program", "fcfs"}));
  CLI11_PARSE(app, argc, argv);
  return agentrt::bench::run(o);
}
