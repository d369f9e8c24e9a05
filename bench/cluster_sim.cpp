// cluster_sim: a discrete-event simulation of G GPUs behind one coordinator (issue 20), past
// what the test machines hold. The real Router (cluster/router.h) routes every agent turn
// from the real KV events; each simulated GPU keeps its KV in a real KvManager (engine/kv)
// over a FakeBlockMemory, so prefix hits, evictions, pins and their revocation are the
// engine's own bookkeeping. No model runs: a step takes the time the Llama-3.1-8B shape took
// on an H200 (bench/RESULTS.md, runs C and D), and the workload is bench/agentic_workload.h's
// multi-turn agent programs, many at once. Reports per policy: prefix hit rate, tokens
// prefilled, load imbalance, mean and p99 JCT, and the coordinator's CPU time per routed
// request (measured wall time of route(), load reports and KV-event updates).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench/cluster_sim.h"

namespace agentrt::bench {
namespace {

nlohmann::json to_json(const PolicyResult& r) {
  return {{"policy", r.policy},
          {"hit_rate", r.hit_rate},
          {"predicted_hit_rate", r.predicted_hit_rate},
          {"prompt_tokens", r.prompt_tokens},
          {"hit_tokens", r.hit_tokens},
          {"prefilled_tokens", r.prefilled_tokens},
          {"recomputed_tokens", r.recomputed_tokens},
          {"imbalance_max_over_mean_busy", r.imbalance},
          {"mean_busy_s", r.mean_busy_s},
          {"max_busy_s", r.max_busy_s},
          {"mean_jct_s", r.mean_jct_s},
          {"p99_jct_s", r.p99_jct_s},
          {"makespan_s", r.makespan_s},
          {"routed", r.routed},
          {"kv_events", r.kv_events},
          {"preemptions", r.preemptions},
          {"evictions", r.evictions},
          {"pins_revoked", r.pins_revoked},
          {"route_us_per_request", r.route_us},
          {"updates_us_per_request", r.update_us},
          {"coordinator_us_per_request", r.coordinator_us},
          {"key_hashing_us_per_request", r.hash_us},
          {"routed_per_sim_s", r.routed_per_s},
          {"coordinator_saturation_per_s", r.saturation_per_s},
          {"index_entries", r.index_entries},
          {"index_dropped_entries", r.index_dropped},
          {"kv_events_us_per_request", r.events_us},
          {"load_reports_us_per_request", r.loads_us},
          {"wall_s", r.wall_s}};
}

int main_impl(int argc, char** argv) {
  SimOptions o;
  std::string policies = "round_robin,least_loaded,prefix_aware,program_affinity";
  std::string json_path;
  bool check = false;
  CLI::App app{"cluster simulation: the real Router and KvManager bookkeeping, modelled steps"};
  app.add_option("--gpus", o.gpus);
  app.add_option("--programs-per-gpu", o.programs_per_gpu);
  app.add_option("--rate-per-gpu", o.rate_per_gpu, "programs arriving per second per GPU");
  app.add_option("--families", o.families, "agent types (distinct system prompts)");
  app.add_option("--kv-tokens", o.kv_tokens, "KV capacity of one GPU in tokens");
  app.add_option("--block-size", o.block_size);
  app.add_option("--max-batch", o.max_batch);
  app.add_option("--token-budget", o.token_budget);
  app.add_option("--workload", o.workload, "swe or bfcl");
  app.add_option("--seed", o.seed);
  app.add_option("--index-entries", o.index_entries,
                 "cap of the router's index in (key, node) entries; 0: the default (4Mi)");
  bool no_pin_events = false;
  app.add_flag("--no-pin-events", no_pin_events,
               "send no pinned / unpinned events (no policy reads pins)");
  app.add_option("--load-report-s", o.load_report_s, "seconds between a GPU's load reports");
  app.add_option("--policies", policies);
  bool null_memory = false;
  app.add_flag("--null-memory", null_memory,
               "a BlockMemory that keeps no contents (large runs; bookkeeping unchanged)");
  app.add_option("--json", json_path);
  app.add_flag("--check", check,
               "exit 1 unless prefix_aware and program_affinity hit more "
               "than round_robin");
  CLI11_PARSE(app, argc, argv);
  o.fake_memory = !null_memory;
  o.pin_events = !no_pin_events;

  std::vector<PolicyResult> results;
  std::stringstream list(policies);
  for (std::string name; std::getline(list, name, ',');) {
    auto policy = cluster::make_policy(name);
    if (!policy.ok()) {
      std::cerr << policy.error().to_string() << "\n";
      return 2;
    }
    results.push_back(run_cluster_sim(o, std::move(policy).value()));
  }
  std::printf(
      "cluster_sim: %d GPUs (Llama-3.1-8B shape, H200 step times), %d programs (%s), "
      "%.2f programs/s/GPU, %lld KV tokens/GPU\n",
      o.gpus, o.gpus * o.programs_per_gpu, o.workload.c_str(), o.rate_per_gpu,
      static_cast<long long>(o.kv_tokens));
  std::printf("%-17s %7s %13s %8s %9s %9s %8s %10s %10s %10s %8s\n", "policy", "hit", "prefilled",
              "vs rr", "imbalance", "mean JCT", "p99 JCT", "route us", "update us", "sat req/s",
              "wall s");
  const PolicyResult* rr = nullptr;
  for (const auto& r : results)
    if (r.policy == "round_robin") rr = &r;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : results) {
    const double vs =
        rr ? static_cast<double>(r.prefilled_tokens) / static_cast<double>(rr->prefilled_tokens)
           : 1.0;
    std::printf("%-17s %6.1f%% %13lld %7.3fx %9.3f %8.1fs %7.1fs %10.2f %10.2f %10.0f %8.1f\n",
                r.policy.c_str(), 100 * r.hit_rate, static_cast<long long>(r.prefilled_tokens), vs,
                r.imbalance, r.mean_jct_s, r.p99_jct_s, r.route_us, r.update_us, r.saturation_per_s,
                r.wall_s);
    auto j = to_json(r);
    j["prefilled_vs_round_robin"] = vs;
    out.push_back(j);
  }
  for (const auto& r : results)
    std::printf(
        "%-17s coordinator us/request: route %.2f, KV events %.2f, load reports %.2f; "
        "key hashing %.2f; index %zu entries (%lld dropped by the cap); %lld preemptions, "
        "%lld pins revoked; %.0f requests/s routed in simulated time\n",
        r.policy.c_str(), r.route_us, r.events_us, r.loads_us, r.hash_us, r.index_entries,
        static_cast<long long>(r.index_dropped), static_cast<long long>(r.preemptions),
        static_cast<long long>(r.pins_revoked), r.routed_per_s);
  if (!json_path.empty()) {
    nlohmann::json doc{{"bench", "cluster_sim"},
                       {"gpus", o.gpus},
                       {"programs", o.gpus * o.programs_per_gpu},
                       {"rate_per_gpu", o.rate_per_gpu},
                       {"families", o.families},
                       {"kv_tokens_per_gpu", o.kv_tokens},
                       {"block_size", o.block_size},
                       {"index_entries", o.index_entries},
                       {"pin_events", o.pin_events},
                       {"workload", o.workload},
                       {"seed", o.seed},
                       {"results", out}};
    std::ofstream(json_path) << doc.dump(2) << "\n";
  }
  if (check && rr != nullptr) {
    for (const auto& r : results) {
      if ((r.policy == "prefix_aware" || r.policy == "program_affinity") &&
          r.hit_rate <= rr->hit_rate) {
        std::fprintf(stderr, "cluster_sim: %s hit rate %.3f <= round_robin's %.3f\n",
                     r.policy.c_str(), r.hit_rate, rr->hit_rate);
        return 1;
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  return agentrt::bench::main_impl(argc, argv);
}
