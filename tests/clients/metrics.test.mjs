// GET /metrics read by a real Prometheus text parser (parse-prometheus-text-format) around
// one chat completion: the families and their types (docs/metrics.md), a histogram's
// buckets cumulative up to +Inf, and the request counted in vLLM's counters.
import assert from "node:assert/strict";
import { test } from "node:test";

import parsePrometheusTextFormat from "parse-prometheus-text-format";

const BASE_URL = process.env.AGENTRT_URL ?? "http://127.0.0.1:8080";
const MODEL = "tiny-calc";

async function scrape() {
  const res = await fetch(`${BASE_URL}/metrics`);
  assert.equal(res.status, 200);
  const type = res.headers.get("content-type") ?? "";
  assert.match(type, /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, families: parsePrometheusTextFormat(text) };
}

function family(families, name) {
  const f = families.find((x) => x.name === name);
  assert.ok(f, `no family ${name}`);
  return f;
}

// Sum of a counter's or gauge's samples whose labels include `labels`.
function value(families, name, labels = {}) {
  let sum = 0;
  for (const m of family(families, name).metrics) {
    const l = m.labels ?? {};
    if (Object.entries(labels).every(([k, v]) => l[k] === v)) sum += Number(m.value);
  }
  return sum;
}

// A histogram's buckets as [le, cumulative count], ascending le. The parser folds a labelled
// histogram's buckets into one {buckets: {le: count}} (one model is served here).
function buckets(families, name) {
  const f = family(families, name);
  assert.equal(f.type, "HISTOGRAM");
  assert.equal(f.metrics.length, 1, `${name}: one series expected`);
  return Object.entries(f.metrics[0].buckets)
    .map(([le, n]) => [le === "+Inf" ? Infinity : Number(le), Number(n)])
    .sort((a, b) => a[0] - b[0]);
}

async function chat() {
  const res = await fetch(`${BASE_URL}/v1/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      model: MODEL,
      messages: [{ role: "user", content: "What is 2 + 3?" }],
      max_tokens: 8,
      temperature: 0,
    }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

test("GET /metrics parses and counts a chat completion", async () => {
  const before = await scrape();
  const reply = await chat();
  const after = await scrape();
  const { families, text } = after;

  const types = {
    "vllm:num_requests_running": "GAUGE",
    "vllm:num_requests_waiting": "GAUGE",
    "vllm:kv_cache_usage_perc": "GAUGE",
    "vllm:prompt_tokens_total": "COUNTER",
    "vllm:generation_tokens_total": "COUNTER",
    "vllm:request_success_total": "COUNTER",
    "vllm:prefix_cache_queries_total": "COUNTER",
    "vllm:prefix_cache_hits_total": "COUNTER",
    "vllm:num_preemptions_total": "COUNTER",
    "vllm:time_to_first_token_seconds": "HISTOGRAM",
    "vllm:time_per_output_token_seconds": "HISTOGRAM",
    "vllm:e2e_request_latency_seconds": "HISTOGRAM",
    "agentrt:kv_blocks": "GAUGE",
    "agentrt:kv_pins_active": "GAUGE",
    "agentrt:kv_pins_created_total": "COUNTER",
    "agentrt:kv_pins_expired_total": "COUNTER",
    "agentrt:kv_pins_revoked_total": "COUNTER",
    "agentrt:kv_reuse_hints_total": "COUNTER",
    "agentrt:kv_reuse_hint_owners": "GAUGE",
    "agentrt:jobs": "GAUGE",
    "agentrt:session_pins_active": "GAUGE",
    "agentrt:session_pins_created_total": "COUNTER",
    "agentrt:session_pin_hits_total": "COUNTER",
    "agentrt:session_pins_expired_total": "COUNTER",
    "agentrt:requests_rejected_total": "COUNTER",
  };
  for (const [name, type] of Object.entries(types)) {
    const f = family(families, name);
    assert.equal(f.type, type, name);
    assert.ok(f.help.length > 0, `${name} has no HELP`);
  }
  const names = families.map((f) => f.name);
  assert.equal(new Set(names).size, names.length, "a family appears twice");
  assert.equal((text.match(/^# TYPE /gm) ?? []).length, names.length);

  // The request, in vLLM's counters (>=: the server may have served other requests).
  const model = { model_name: MODEL };
  const delta = (name, labels = model) =>
    value(families, name, labels) - value(before.families, name, labels);
  const reason = reply.choices[0].finish_reason;
  assert.ok(delta("vllm:request_success_total", { ...model, finished_reason: reason }) >= 1);
  assert.ok(delta("vllm:prompt_tokens_total") >= reply.usage.prompt_tokens);
  assert.ok(delta("vllm:generation_tokens_total") >= reply.usage.completion_tokens);
  assert.ok(delta("vllm:prefix_cache_queries_total") >= 1);
  assert.ok(value(families, "vllm:num_requests_running", model) >= 0);

  // Histograms: ascending le ending at +Inf, cumulative counts, the request in +Inf.
  for (const name of ["vllm:e2e_request_latency_seconds", "vllm:time_to_first_token_seconds"]) {
    const b = buckets(families, name);
    assert.ok(b.length > 2, name);
    assert.equal(b.at(-1)[0], Infinity, `${name}: no +Inf bucket`);
    for (let i = 1; i < b.length; ++i) assert.ok(b[i][1] >= b[i - 1][1], `${name} not monotone`);
    const inf = (h) => buckets(h, name).at(-1)[1];
    assert.ok(inf(families) - inf(before.families) >= 1, `${name}: request not observed`);
  }

  // Device KV blocks: every state reported, summing to the pool.
  const kv = family(families, "agentrt:kv_blocks").metrics.filter(
    (m) => m.labels.model_name === MODEL && m.labels.tier === "device",
  );
  assert.deepEqual(kv.map((m) => m.labels.state).sort(), ["cached", "free", "pinned", "used"]);
  assert.ok(kv.reduce((s, m) => s + Number(m.value), 0) > 0);
  const jobs = family(families, "agentrt:jobs").metrics.map((m) => m.labels.state);
  for (const s of ["queued", "running", "succeeded", "failed", "cancelled"]) {
    assert.ok(jobs.includes(s), `agentrt:jobs{state="${s}"} missing`);
  }
});
