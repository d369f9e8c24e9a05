// Unit tests of the Prometheus exposition (api/prometheus_text.h) and ServerMetrics: the
// output is parsed back line by line with the format's grammar (HELP, TYPE, samples,
// escaped label values) and checked family by family.
#include "api/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "api/prometheus_text.h"

namespace agentrt::api {
namespace {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Family {
  std::string type;
  std::string help;
  std::vector<Sample> samples;
};

// Parses `{k="v",...}` at text[pos] (unescaping values); false on a syntax error.
bool parse_labels(const std::string& text, std::size_t& pos,
                  std::map<std::string, std::string>& out) {
  static const std::regex kName("[a-zA-Z_][a-zA-Z0-9_]*");
  if (text[pos] != '{') return true;
  ++pos;
  while (pos < text.size() && text[pos] != '}') {
    const std::size_t eq = text.find("=\"", pos);
    if (eq == std::string::npos) return false;
    const std::string key = text.substr(pos, eq - pos);
    if (!std::regex_match(key, kName) || out.count(key) != 0) return false;
    std::string value;
    pos = eq + 2;
    for (; pos < text.size() && text[pos] != '"'; ++pos) {
      if (text[pos] == '\n') return false;
      if (text[pos] != '\\') {
        value += text[pos];
        continue;
      }
      const char c = text[++pos];
      if (c == 'n') {
        value += '\n';
      } else if (c == '\\' || c == '"') {
        value += c;
      } else {
        return false;
      }
    }
    if (pos >= text.size()) return false;
    out[key] = value;
    ++pos;  // closing quote
    if (text[pos] == ',') ++pos;
  }
  if (pos >= text.size()) return false;
  ++pos;
  return true;
}

double parse_value(const std::string& v) {
  if (v == "+Inf") return INFINITY;
  if (v == "-Inf") return -INFINITY;
  if (v == "NaN") return NAN;
  std::size_t used = 0;
  const double d = std::stod(v, &used);
  EXPECT_EQ(used, v.size()) << v;
  return d;
}

// The exposition as families; fails the test on any line outside the 0.0.4 grammar, a
// family declared twice, or a sample that is not of the family declared just before it.
std::map<std::string, Family> parse(const std::string& text) {
  static const std::regex kMetric("[a-zA-Z_:][a-zA-Z0-9_:]*");
  std::map<std::string, Family> families;
  std::string current;
  std::istringstream in(text);
  std::string line;
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      const std::size_t sp = rest.find(' ');
      EXPECT_NE(sp, std::string::npos) << line;
      const std::string name = rest.substr(0, sp);
      EXPECT_TRUE(std::regex_match(name, kMetric)) << line;
      if (line[2] == 'H') {
        EXPECT_EQ(families.count(name), 0u) << "declared twice: " << name;
        families[name].help = rest.substr(sp + 1);
        current = name;
      } else {
        EXPECT_EQ(name, current) << "TYPE without its HELP: " << line;
        families[name].type = rest.substr(sp + 1);
      }
      continue;
    }
    Sample s;
    std::size_t pos = line.find_first_of("{ ");
    if (pos == std::string::npos) {
      ADD_FAILURE() << "not a sample: " << line;
      continue;
    }
    s.name = line.substr(0, pos);
    EXPECT_TRUE(std::regex_match(s.name, kMetric)) << line;
    EXPECT_TRUE(parse_labels(line, pos, s.labels)) << line;
    EXPECT_EQ(line[pos], ' ') << line;
    s.value = parse_value(line.substr(pos + 1));
    const Family& f = families[current];
    const bool own =
        s.name == current ||
        (f.type == "histogram" && (s.name == current + "_bucket" || s.name == current + "_sum" ||
                                   s.name == current + "_count"));
    EXPECT_TRUE(own) << "sample " << s.name << " under family " << current;
    families[current].samples.push_back(std::move(s));
  }
  return families;
}

const Sample* find(const Family& f, const std::string& name,
                   const std::map<std::string, std::string>& labels) {
  for (const Sample& s : f.samples)
    if (s.name == name && s.labels == labels) return &s;
  return nullptr;
}

TEST(MetricsText, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_help("a\\b\"c\nd"), "a\\\\b\"c\\nd");
  PrometheusText out;
  out.family("x_total", MetricType::counter, "Line one\nline \\two");
  out.sample("x_total", {{"model_name", "we\"ird\\name\n"}}, std::int64_t{3});
  EXPECT_EQ(out.text(),
            "# HELP x_total Line one\\nline \\\\two\n# TYPE x_total counter\n"
            "x_total{model_name=\"we\\\"ird\\\\name\\n\"} 3\n");
  auto families = parse(out.text());
  ASSERT_EQ(families["x_total"].samples.size(), 1u);
  EXPECT_EQ(families["x_total"].samples[0].labels.at("model_name"), "we\"ird\\name\n");
}

TEST(MetricsText, FormatsValuesAndBounds) {
  EXPECT_EQ(format_metric_value(3), "3");
  EXPECT_EQ(format_metric_value(0.25), "0.25");
  EXPECT_EQ(format_metric_value(-2), "-2");
  EXPECT_EQ(format_metric_value(INFINITY), "+Inf");
  EXPECT_EQ(format_metric_value(-INFINITY), "-Inf");
  EXPECT_EQ(format_metric_value(NAN), "NaN");
  EXPECT_EQ(format_metric_value(1e300), "1e+300");
  EXPECT_EQ(format_le(1), "1.0");
  EXPECT_EQ(format_le(2560), "2560.0");
  EXPECT_EQ(format_le(0.005), "0.005");
}

TEST(MetricsText, HistogramBucketsAreCumulativeWithInclusiveBounds) {
  static constexpr double kBounds[] = {0.1, 1.0, 10.0};
  Histogram h(kBounds);
  for (double v : {0.05, 0.1, 0.5, 1.0, 5.0, 100.0})
    h.observe(v);
  h.observe(NAN);                  // ignored
  EXPECT_EQ(h.cumulative(0), 2u);  // 0.05 and 0.1 (le is inclusive)
  EXPECT_EQ(h.cumulative(1), 4u);
  EXPECT_EQ(h.cumulative(2), 5u);
  EXPECT_EQ(h.cumulative(3), 6u);  // +Inf
  EXPECT_EQ(h.count(), 6u);
  EXPECT_DOUBLE_EQ(h.sum(), 106.65);

  PrometheusText out;
  out.family("lat_seconds", MetricType::histogram, "Latency.");
  out.histogram("lat_seconds", {{"model_name", "m"}}, h);
  EXPECT_EQ(out.text(),
            "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{model_name=\"m\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{model_name=\"m\",le=\"1.0\"} 4\n"
            "lat_seconds_bucket{model_name=\"m\",le=\"10.0\"} 5\n"
            "lat_seconds_bucket{model_name=\"m\",le=\"+Inf\"} 6\n"
            "lat_seconds_sum{model_name=\"m\"} 106.65\n"
            "lat_seconds_count{model_name=\"m\"} 6\n");
}

// The families every scrape has, even before the first model loads or request arrives.
TEST(Metrics, EmptyServerDeclaresEveryFamily) {
  ServerMetrics metrics;
  auto families = parse(metrics.render({}));
  for (const char* name : {"vllm:num_requests_running",
                           "vllm:num_requests_waiting",
                           "vllm:kv_cache_usage_perc",
                           "vllm:prefix_cache_queries_total",
                           "vllm:prefix_cache_hits_total",
                           "vllm:num_preemptions_total",
                           "vllm:prompt_tokens_total",
                           "vllm:generation_tokens_total",
                           "vllm:request_success_total",
                           "vllm:time_to_first_token_seconds",
                           "vllm:time_per_output_token_seconds",
                           "vllm:e2e_request_latency_seconds",
                           "agentrt:kv_blocks",
                           "agentrt:kv_pins_active",
                           "agentrt:kv_pins_created_total",
                           "agentrt:kv_pins_expired_total",
                           "agentrt:kv_pins_revoked_total",
                           "agentrt:kv_reuse_hints_total",
                           "agentrt:kv_reuse_hint_owners",
                           "agentrt:segment_cache_hits_total",
                           "agentrt:segment_reused_tokens_total",
                           "agentrt:blend_anchors",
                           "agentrt:blend_anchor_predicted_tokens_total",
                           "agentrt:jobs",
                           "agentrt:session_pins_created_total",
                           "agentrt:session_pin_hits_total",
                           "agentrt:requests_rejected_total"}) {
    ASSERT_EQ(families.count(name), 1u) << name;
    EXPECT_FALSE(families[name].help.empty()) << name;
  }
  EXPECT_EQ(families["vllm:time_to_first_token_seconds"].type, "histogram");
  EXPECT_EQ(families["vllm:prompt_tokens_total"].type, "counter");
  EXPECT_EQ(families["vllm:num_requests_running"].type, "gauge");
  EXPECT_EQ(families["agentrt:session_pin_hits_total"].samples.size(), 1u);
  EXPECT_TRUE(families["vllm:request_success_total"].samples.empty());
}

// With a cluster: each live node's load and routed attempts under label node, and the
// coordinator's counters; without one the section is absent.
TEST(Metrics, ClusterNodesAndCountersWhenTheServerCoordinatesOne) {
  ServerMetrics metrics;
  EXPECT_EQ(parse(metrics.render({})).count("agentrt:cluster_nodes"), 0u);
  MetricsSnapshot s;
  ClusterMetrics c;
  c.nodes.push_back({"gpu0", 3, 1, 4096, 1000, 7, 12});
  c.nodes.push_back({"local", 0, 0, 0, 512, 1, 0});
  c.nodes_lost = 2;
  c.jobs_moved = 3;
  c.completions_moved = 1;
  c.nodes_refused = 4;
  s.cluster = c;
  auto families = parse(metrics.render(s));
  ASSERT_EQ(families["agentrt:cluster_nodes"].samples.size(), 1u);
  EXPECT_EQ(families["agentrt:cluster_nodes"].samples[0].value, 2);
  auto value = [&](const std::string& name, const std::map<std::string, std::string>& labels) {
    const Sample* x = find(families[name], name, labels);
    EXPECT_NE(x, nullptr) << name;
    return x != nullptr ? x->value : -1;
  };
  EXPECT_EQ(value("agentrt:cluster_node_running", {{"node", "gpu0"}}), 3);
  EXPECT_EQ(value("agentrt:cluster_node_waiting", {{"node", "gpu0"}}), 1);
  EXPECT_EQ(value("agentrt:cluster_node_kv_blocks", {{"node", "gpu0"}}), 4096);
  EXPECT_EQ(value("agentrt:cluster_node_kv_available_blocks", {{"node", "local"}}), 512);
  EXPECT_EQ(value("agentrt:cluster_node_jobs_routed_total", {{"node", "gpu0"}}), 7);
  EXPECT_EQ(value("agentrt:cluster_node_completions_routed_total", {{"node", "gpu0"}}), 12);
  EXPECT_EQ(families["agentrt:cluster_node_jobs_routed_total"].type, "counter");
  EXPECT_EQ(value("agentrt:cluster_nodes_lost_total", {}), 2);
  EXPECT_EQ(value("agentrt:cluster_jobs_moved_total", {}), 3);
  EXPECT_EQ(value("agentrt:cluster_completions_moved_total", {}), 1);
  EXPECT_EQ(value("agentrt:cluster_nodes_refused_total", {}), 4);
}

TEST(Metrics, RequestsAreCountedPerModelAndReason) {
  ServerMetrics metrics;
  RequestObservation o;
  o.model = "tiny-calc";
  o.finish_reason = "stop";
  o.prompt_tokens = 40;
  o.completion_tokens = 9;
  o.cached_tokens = 32;
  o.ttft_s = 0.03;
  o.tpot_s = 0.01;
  o.e2e_s = 0.11;
  metrics.observe(o);
  o.finish_reason = "tool_calls";
  o.ttft_s = -1;  // not observed
  metrics.observe(o);
  metrics.rejected("tiny-calc");
  auto families = parse(metrics.render({}));
  const std::map<std::string, std::string> m{{"model_name", "tiny-calc"}};
  EXPECT_EQ(find(families["vllm:prompt_tokens_total"], "vllm:prompt_tokens_total", m)->value, 80);
  EXPECT_EQ(
      find(families["vllm:generation_tokens_total"], "vllm:generation_tokens_total", m)->value, 18);
  EXPECT_EQ(
      find(families["agentrt:prompt_cached_tokens_total"], "agentrt:prompt_cached_tokens_total", m)
          ->value,
      64);
  EXPECT_EQ(find(families["agentrt:requests_rejected_total"], "agentrt:requests_rejected_total", m)
                ->value,
            1);
  const Family& success = families["vllm:request_success_total"];
  for (auto [reason, n] :
       std::map<std::string, double>{{"stop", 1}, {"tool_calls", 1}, {"length", 0}, {"abort", 0}}) {
    const Sample* s = find(success, "vllm:request_success_total",
                           {{"model_name", "tiny-calc"}, {"finished_reason", reason}});
    ASSERT_NE(s, nullptr) << reason;
    EXPECT_EQ(s->value, n) << reason;
  }
  const Family& ttft = families["vllm:time_to_first_token_seconds"];
  EXPECT_EQ(find(ttft, "vllm:time_to_first_token_seconds_count", m)->value, 1);
  EXPECT_DOUBLE_EQ(find(ttft, "vllm:time_to_first_token_seconds_sum", m)->value, 0.03);
  const Family& e2e = families["vllm:e2e_request_latency_seconds"];
  EXPECT_EQ(find(e2e, "vllm:e2e_request_latency_seconds_count", m)->value, 2);
  // Buckets: cumulative, ascending le, the last +Inf equal to the count.
  double last_le = -1, last = 0;
  for (const Sample& s : ttft.samples) {
    if (s.name != "vllm:time_to_first_token_seconds_bucket") continue;
    const double le = parse_value(s.labels.at("le"));
    EXPECT_GT(le, last_le);
    EXPECT_GE(s.value, last);
    EXPECT_EQ(s.value, le >= 0.04 ? 1 : 0) << s.labels.at("le");
    last_le = le;
    last = s.value;
  }
  EXPECT_TRUE(std::isinf(last_le));
}

TEST(Metrics, RuntimeSnapshotGivesKvByStateJobsAndSessions) {
  MetricsSnapshot s;
  actors::RuntimeMetrics rm;
  rm.kv_blocks = 100;
  rm.active_requests = 3;
  rm.queued_requests = 2;
  rm.kv.free_blocks = 50;
  rm.kv.cached_blocks = 20;
  rm.kv.used_blocks = 25;
  rm.kv.pinned_blocks = 5;
  rm.kv.block_bytes = 1024;
  rm.kv.tier_bytes = {-1, 4096, -1, -1};  // a host tier, no store
  rm.kv.lookup_tokens = 200;
  rm.kv.hit_tokens = {100, 20, 0, 0};
  rm.kv.active_pins = 2;
  rm.kv.pins_created = 7;
  rm.kv.pins_revoked = 1;
  rm.engine.preemptions = 4;
  rm.segments.hits = 6;
  rm.segments.tokens_reused = 300;
  rm.segments.tokens_recomputed = 45;
  rm.anchors.anchors = 3;
  rm.anchors.recorded = 5;
  rm.anchors.predicted_tokens = 240;
  s.models.emplace_back("tiny-calc", rm);
  s.jobs_by_state = {{"queued", 1}, {"running", 2}, {"succeeded", 3}};
  s.sessions.created = 5;
  s.sessions.hits = 4;
  s.sessions.active = 1;
  ServerMetrics metrics;
  auto families = parse(metrics.render(s));
  const std::map<std::string, std::string> m{{"model_name", "tiny-calc"}};
  auto value = [&](const std::string& family, const std::map<std::string, std::string>& labels) {
    const Sample* x = find(families[family], family, labels);
    EXPECT_NE(x, nullptr) << family;
    return x ? x->value : NAN;
  };
  EXPECT_EQ(value("vllm:num_requests_running", m), 3);
  EXPECT_EQ(value("vllm:num_requests_waiting", m), 2);
  EXPECT_DOUBLE_EQ(value("vllm:kv_cache_usage_perc", m), 0.30);
  EXPECT_EQ(value("vllm:prefix_cache_queries_total", m), 200);
  EXPECT_EQ(value("vllm:prefix_cache_hits_total", m), 120);
  EXPECT_EQ(value("vllm:num_preemptions_total", m), 4);
  double sum = 0;
  for (const char* state : {"free", "cached", "used", "pinned"})
    sum += value("agentrt:kv_blocks",
                 {{"model_name", "tiny-calc"}, {"tier", "device"}, {"state", state}});
  EXPECT_EQ(sum, 100);
  EXPECT_EQ(value("agentrt:kv_tier_bytes", {{"model_name", "tiny-calc"}, {"tier", "device"}}),
            50 * 1024);
  EXPECT_EQ(value("agentrt:kv_tier_bytes", {{"model_name", "tiny-calc"}, {"tier", "host"}}), 4096);
  EXPECT_EQ(find(families["agentrt:kv_tier_bytes"], "agentrt:kv_tier_bytes",
                 {{"model_name", "tiny-calc"}, {"tier", "store"}}),
            nullptr);
  EXPECT_EQ(value("agentrt:prefix_cache_hit_tokens_total",
                  {{"model_name", "tiny-calc"}, {"tier", "host"}}),
            20);
  EXPECT_EQ(value("agentrt:kv_pins_active", m), 2);
  EXPECT_EQ(value("agentrt:kv_pins_created_total", m), 7);
  EXPECT_EQ(value("agentrt:kv_pins_revoked_total", m), 1);
  EXPECT_EQ(value("agentrt:segment_cache_hits_total", m), 6);
  EXPECT_EQ(value("agentrt:segment_reused_tokens_total", m), 300);
  EXPECT_EQ(value("agentrt:segment_recomputed_tokens_total", m), 45);
  EXPECT_EQ(value("agentrt:segment_cache_entries", m), 0);
  EXPECT_EQ(value("agentrt:blend_anchors", m), 3);
  EXPECT_EQ(value("agentrt:blend_anchors_recorded_total", m), 5);
  EXPECT_EQ(value("agentrt:blend_anchor_predicted_tokens_total", m), 240);
  EXPECT_EQ(families["agentrt:blend_anchors_recorded_total"].type, "counter");
  EXPECT_EQ(families["agentrt:blend_anchor_tokens"].type, "gauge");
  EXPECT_EQ(value("agentrt:jobs", {{"state", "running"}}), 2);
  EXPECT_EQ(value("agentrt:session_pins_created_total", {}), 5);
  EXPECT_EQ(value("agentrt:session_pin_hits_total", {}), 4);
  EXPECT_EQ(value("agentrt:session_pins_active", {}), 1);
  // A loaded model has request series before its first request.
  EXPECT_EQ(value("vllm:prompt_tokens_total", m), 0);
  EXPECT_EQ(find(families["vllm:e2e_request_latency_seconds"],
                 "vllm:e2e_request_latency_seconds_count", m)
                ->value,
            0);
}

// Observations from many threads while scraping (TSan checks the locking).
TEST(Metrics, ObserveAndRenderFromManyThreads) {
  ServerMetrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < 500; ++i) {
        RequestObservation o;
        o.model = "m" + std::to_string(t % 2);
        o.finish_reason = "length";
        o.prompt_tokens = 1;
        o.e2e_s = 0.5;
        metrics.observe(o);
        if (i % 100 == 0) {
          EXPECT_FALSE(metrics.render({}).empty());
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  auto families = parse(metrics.render({}));
  for (const char* model : {"m0", "m1"}) {
    EXPECT_EQ(find(families["vllm:prompt_tokens_total"], "vllm:prompt_tokens_total",
                   {{"model_name", model}})
                  ->value,
              1000);
  }
}

}  // namespace
}  // namespace agentrt::api
