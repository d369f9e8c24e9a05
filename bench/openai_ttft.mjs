// Chat completions against an OpenAI-compatible server (bench/openai_load.sh): C clients
// loop requests for T seconds. Streaming (default) times, per request, the first SSE
// `data:` chunk, the first chunk with content (the first token), and the end ([DONE]);
// --stream false times whole replies (the overload run). Prints one JSON line: requests/s,
// p50/p99 of each, status counts, latency by status.
// Node 20, no dependencies (global fetch).
// Usage: node bench/openai_ttft.mjs --url http://127.0.0.1:PORT --clients 4 --seconds 20
//        [--model tiny-calc] [--max-tokens 8] [--user TEXT] [--stream false]
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    url: { type: "string" },
    clients: { type: "string", default: "1" },
    seconds: { type: "string", default: "20" },
    model: { type: "string", default: "tiny-calc" },
    "max-tokens": { type: "string", default: "8" },
    stream: { type: "string", default: "true" },
    user: {
      type: "string",
      default: "Sam has 13 stamps. Kate has 7 more stamps than Sam. How many stamps does Kate have?",
    },
  },
});
if (!a.url) throw new Error("--url is required");
const clients = Number(a.clients);
const seconds = Number(a.seconds);
const body = JSON.stringify({
  model: a.model,
  messages: [{ role: "user", content: a.user }],
  max_tokens: Number(a["max-tokens"]),
  temperature: 0,
  stream: a.stream !== "false",
});

// One streamed request; times are ms from the send.
async function one() {
  const t0 = performance.now();
  const res = await fetch(`${a.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  });
  if (res.status !== 200 || a.stream === "false") {
    const text = await res.text();
    const e2e = performance.now() - t0;
    const ok = res.status === 200 && JSON.parse(text).choices?.length > 0;
    return { status: res.status, e2e, done: ok, first_chunk: -1, first_token: -1, chunks: 0,
             retry_after: res.headers.get("retry-after") };
  }
  const r = { status: 200, first_chunk: -1, first_token: -1, e2e: 0, chunks: 0, done: false };
  const decoder = new TextDecoder();
  let buf = "";
  for await (const part of res.body) {
    buf += decoder.decode(part, { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      const line = frame.split("\n").find((l) => l.startsWith("data:"));
      if (!line) continue;
      const data = line.slice(5).trim();
      const now = performance.now() - t0;
      if (data === "[DONE]") {
        r.done = true;
        continue;
      }
      if (r.first_chunk < 0) r.first_chunk = now;
      r.chunks++;
      const delta = JSON.parse(data).choices?.[0]?.delta;
      if (r.first_token < 0 && delta && delta.content) r.first_token = now;
    }
  }
  r.e2e = performance.now() - t0;
  return r;
}

function quantile(v, q) {
  if (v.length === 0) return null;
  const s = [...v].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
}

const results = [];
const errors = [];
const t0 = performance.now();
const end = t0 + seconds * 1000;
await Promise.all(
  Array.from({ length: clients }, async () => {
    while (performance.now() < end) {
      try {
        results.push(await one());
      } catch (e) {
        errors.push(String(e?.cause?.code ?? e?.message ?? e));
      }
    }
  }),
);
const wall = (performance.now() - t0) / 1000;
const ok = results.filter((r) => r.status === 200 && r.done);
const status = {};
for (const r of results) status[r.status] = (status[r.status] ?? 0) + 1;
// Latency of every reply by status (the overload run: 200s and 429s apart).
const by_status = {};
for (const code of Object.keys(status)) {
  const v = results.filter((r) => String(r.status) === code).map((r) => r.e2e);
  by_status[code] = { p50_ms: quantile(v, 0.5), p99_ms: quantile(v, 0.99), max_ms: v.reduce((m, x) => Math.max(m, x), 0) };
}
const no_retry_after = results.filter((r) => r.status === 429 && !r.retry_after).length;
const pick = (k) => ok.map((r) => r[k]).filter((x) => x >= 0);
const stats = (k) => ({ p50_ms: quantile(pick(k), 0.5), p99_ms: quantile(pick(k), 0.99) });
console.log(
  JSON.stringify({
    clients,
    seconds: wall,
    requests: ok.length,
    requests_per_s: ok.length / wall,
    status,
    by_status,
    "429_without_retry_after": no_retry_after,
    not_done: results.filter((r) => r.status === 200 && !r.done).length,
    errors: errors.length,
    first_error: errors[0] ?? null,
    first_chunk: stats("first_chunk"),
    first_token: stats("first_token"),
    e2e: stats("e2e"),
    mean_chunks: ok.length ? ok.reduce((s, r) => s + r.chunks, 0) / ok.length : 0,
    first_token_mean_ms: ok.length ? pick("first_token").reduce((s, x) => s + x, 0) / ok.length : null,
    e2e_mean_ms: ok.length ? pick("e2e").reduce((s, x) => s + x, 0) / ok.length : null,
    // This client's own CPU (it shares the machine with the server).
    client_cpu_ms: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  }),
);
