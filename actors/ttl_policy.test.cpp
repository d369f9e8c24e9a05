// The TTL formula (ttl_policy.h) with durations measured on a fake clock.
#include "actors/ttl_policy.h"

#include <gtest/gtest.h>

#include <thread>

namespace agentrt::actors {
namespace {

using namespace std::chrono_literals;

// Measures a "tool call" of length d on the fake clock, as the agent does.
kv::Duration measure(kv::FakeClock& clock, kv::Duration d) {
  const auto start = clock.now();
  clock.advance(d);
  return clock.now() - start;
}

TtlInputs inputs(std::int64_t context, int available = 1000) {
  TtlInputs in;
  in.tools = {"calc"};
  in.context_tokens = context;
  in.seq_blocks = static_cast<int>((context + 15) / 16);
  in.total_blocks = 1000;
  in.available_blocks = available;
  return in;
}

TEST(DurationEstimator, NearestRankQuantileOverASlidingWindow) {
  DurationEstimator e(4);
  EXPECT_EQ(e.quantile(0.9), 0ms);
  for (auto d : {10ms, 40ms, 20ms, 30ms})
    e.add(d);
  EXPECT_EQ(e.quantile(0.5), 20ms);
  EXPECT_EQ(e.quantile(0.9), 40ms);
  EXPECT_EQ(e.quantile(0.0), 10ms);
  e.add(100ms);  // replaces the oldest (10 ms)
  EXPECT_EQ(e.samples(), 4);
  EXPECT_EQ(e.quantile(0.0), 20ms);
  EXPECT_EQ(e.quantile(1.0), 100ms);
}

TEST(TtlPolicy, ColdStartThenMeasuredQuantile) {
  kv::FakeClock clock;
  TtlPolicyOptions o;
  o.cold_start = 2s;
  o.min_samples = 3;
  TtlPolicy p(o);
  EXPECT_EQ(p.predict("calc"), 2s);
  p.record("calc", measure(clock, 100ms));
  p.record("calc", measure(clock, 300ms));
  EXPECT_EQ(p.predict("calc"), 2s) << "two samples are still the cold start";
  p.record("calc", measure(clock, 200ms));
  EXPECT_EQ(p.predict("calc"), 300ms);  // p90 of {100, 200, 300}
  EXPECT_EQ(p.predict("other"), 2s);
  // candidate = 1.25 * 300 ms + 50 ms; no pressure, recompute cost above zero.
  const auto d = p.decide(inputs(400));
  EXPECT_EQ(d.predicted, 300ms);
  EXPECT_EQ(d.ttl, 425ms);
  EXPECT_DOUBLE_EQ(d.pressure, 0.0);
  EXPECT_NEAR(d.recompute_seconds, 400 * 2e-4, 1e-12);
}

TEST(TtlPolicy, SeveralToolsTakeTheSlowestAndTtlIsClamped) {
  kv::FakeClock clock;
  TtlPolicyOptions o;
  o.min_samples = 1;
  o.max_ttl = 10s;
  TtlPolicy p(o);
  p.record("fast", measure(clock, 10ms));
  p.record("slow", measure(clock, 60s));
  auto in = inputs(400);
  in.tools = {"fast"};
  EXPECT_EQ(p.decide(in).ttl, 62500us);  // 1.25 * 10 ms + 50 ms
  in.tools = {"fast", "slow"};
  EXPECT_EQ(p.decide(in).ttl, 10s) << "clamped to max_ttl";
  o.min_ttl = 100ms;
  TtlPolicy q(o);
  q.record("fast", measure(clock, 1ms));
  in.tools = {"fast"};
  EXPECT_EQ(q.decide(in).ttl, 100ms) << "clamped to min_ttl";
}

TEST(TtlPolicy, MemoryPressureAndRecomputeCostDecide) {
  kv::FakeClock clock;
  TtlPolicyOptions o;
  o.min_samples = 1;
  TtlPolicy p(o);
  p.record("calc", measure(clock, 1s));
  // Long context, pool 95% used: recompute (4000 * 2e-4 = 0.8 s) beats holding 250 of
  // 1000 blocks for 1.3 s at pressure 0.95 (0.95 * 0.25 * 1.3 = 0.31 s): pin, no margin.
  auto tight = p.decide(inputs(4000, 50));
  EXPECT_NEAR(tight.pressure, 0.95, 1e-12);
  EXPECT_EQ(tight.ttl, 1s);
  // A 10 s tool under the same pressure: holding 250 blocks for 12.55 s costs
  // 0.95 * 0.25 * 12.55 = 2.98 s, more than recomputing (0.8 s): do not pin.
  p.record("slow", measure(clock, 10s));
  auto in = inputs(4000, 50);
  in.tools = {"slow"};
  auto costly = p.decide(in);
  EXPECT_EQ(costly.ttl, 0ms);
  EXPECT_LT(costly.recompute_seconds, costly.hold_seconds);
  // The same call with a free pool: holding costs nothing, so pin with the margin.
  in.available_blocks = 1000;
  EXPECT_EQ(p.decide(in).ttl, 12550ms);
}

TEST(TtlPolicy, MeasuredPrefillRateReplacesTheDefault) {
  TtlPolicy p;
  p.record_prefill(1000, 0.5);  // 0.5 ms per token
  EXPECT_NEAR(p.decide(inputs(100)).recompute_seconds, 0.05, 1e-12);
  p.record_prefill(1000, 1.5);  // EWMA: 0.9 * 0.5 + 0.1 * 1.5 = 0.6 ms per token
  EXPECT_NEAR(p.decide(inputs(100)).recompute_seconds, 0.06, 1e-12);
}

TEST(TtlPolicy, PrefetchLeadIsTheHostToDeviceCopyTimeWithAFloor) {
  TtlPolicy p;                                              // 10 GB/s, at least 20 ms
  EXPECT_EQ(p.prefetch_lead(1000, 2u << 20), 209715200ns);  // 2.1 GB at 10 GB/s
  EXPECT_EQ(p.prefetch_lead(10, 2u << 20), 20ms) << "a short copy still gets the floor";
  EXPECT_EQ(p.prefetch_lead(0, 2u << 20), 20ms);
  TtlPolicyOptions o;
  o.host_to_device_bytes_per_s = 1e9;
  o.min_prefetch_lead = 1ms;
  EXPECT_EQ(TtlPolicy(o).prefetch_lead(10, 1000000), 10ms);
}

TEST(TtlPolicy, RecordsAndDecisionsFromManyThreads) {
  TtlPolicyOptions o;
  o.min_samples = 1;
  TtlPolicy p(o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&p, t] {
      for (int i = 0; i < 200; ++i) {
        p.record(t % 2 ? "a" : "b", std::chrono::milliseconds(10 + i % 7));
        p.record_prefill(100, 0.01);
        (void)p.decide(inputs(100));
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(p.predict("a"), 16ms);
  EXPECT_EQ(p.predict("b"), 16ms);
}

}  // namespace
}  // namespace agentrt::actors
