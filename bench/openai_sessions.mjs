// Agent sessions benchmark (issue 15, bench/openai_sessions.sh): C concurrent clients each
// run K multi-turn tool loops against POST /v1/chat/completions, as an agent framework
// does: tiny-calc's system prompt and calculator tool, a distinct generated word problem
// per conversation, temperature 0; when the reply has tool_calls the client "runs the tool"
// (sleeps a seeded uniform latency, evaluates the expression), appends the assistant
// message and one role "tool" message per call, and asks again, until a reply without
// tool calls or --max-turns requests. Prints one JSON object: per-conversation seconds
// (mean, p50, p90), tokens prompted / cached / re-prefilled (usage.prompt_tokens -
// usage.prompt_tokens_details.cached_tokens), answers right, and the change of the server's
// session / pin / prefix-cache counters in GET /metrics over the run.
// Node 20, no dependencies (global fetch).
// Usage: node bench/openai_sessions.mjs --url http://127.0.0.1:PORT [--clients 16]
//          [--conversations 2] [--seed 1] [--latency-ms 200-800] [--ops 2-3]
//          [--max-turns 6] [--max-tokens 96] [--model tiny-calc] [--label NAME] [--out FILE]
//          [--trace] (each request's usage on stderr)
//          [--slow 0.1:4000-8000] (that share of tool runs takes that long instead)
//          [--abandon 0.1] (that share of tool-call replies ends the conversation there, as
//          an agent that crashed, timed out or was cancelled: the server's pin is never taken)
//        node bench/openai_sessions.mjs --summarize RUN.json... [--out FILE]
//          (a table of the runs, each as a ratio to the run labelled "off")
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string" },
    clients: { type: "string", default: "16" },
    conversations: { type: "string", default: "2" },
    seed: { type: "string", default: "1" },
    "latency-ms": { type: "string", default: "200-800" },
    ops: { type: "string", default: "2-3" },
    "max-turns": { type: "string", default: "6" },
    "max-tokens": { type: "string", default: "96" },
    model: { type: "string", default: "tiny-calc" },
    label: { type: "string", default: "run" },
    slow: { type: "string", default: "0:0-0" },
    abandon: { type: "string", default: "0" },
    out: { type: "string" },
    summarize: { type: "boolean", default: false },
    trace: { type: "boolean", default: false },
  },
});

const SYSTEM =
  "You solve arithmetic word problems. Use the calculator tool for every operation, then give the final line as 'Answer: N'.";
const TOOL = {
  type: "function",
  function: {
    name: "calculator",
    description:
      "Evaluate an integer arithmetic expression with + - * / and parentheses. Division must be exact.",
    parameters: {
      type: "object",
      properties: {
        expression: { type: "string", description: "The expression, e.g. 12 * (3 + 4)" },
      },
      required: ["expression"],
    },
  },
};

// mulberry32: a small seeded PRNG, so every mode sees the same problems and latencies.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randint = (r, lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
const pick = (r, xs) => xs[Math.floor(r() * xs.length)];
function shuffle(r, xs) {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
const range = (text) => text.split("-").map(Number);

// Word problems in tiny-calc's training form (models/train/problems.py), as a chain: each
// derived quantity is one operation on the previous one, so a problem of `ops` operations
// takes `ops` tool-call turns and a final answer turn. Plus 1-2 distractor facts.
const NAMES = ["Mia", "Ben", "Cara", "Dan", "Eve", "Finn", "Gina", "Hugo", "Ivy", "Jack", "Kate",
  "Leo", "Lily", "Max", "Nina", "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera",
  "Will", "Xena", "Yuri", "Zoe", "Adam", "Beth", "Carl", "Dora", "Emil", "Fay", "Gus", "Hana",
  "Ian", "Jade", "Kim", "Luis", "Maya"];
const ITEMS = ["apples", "marbles", "stamps", "coins", "books", "pencils", "cards", "shells",
  "stickers", "buttons", "beads", "cookies", "flowers", "rocks", "balloons", "candles",
  "tickets", "oranges", "cups", "keys"];
const MUL = { 2: "twice", 3: "three times", 4: "four times", 5: "five times" };
const DIV = { 2: "half", 3: "a third", 4: "a quarter" };

function derive(r, person, item, from, v) {
  for (const op of shuffle(r, ["add", "sub", "mul", "div"])) {
    if (op === "add") {
      const c = randint(r, 1, 12);
      if (v + c <= 999) return [v + c, `${person} has ${c} more ${item} than ${from}.`];
    } else if (op === "sub" && v - 1 >= 2) {
      const c = randint(r, 1, Math.min(12, v - 2));
      return [v - c, `${person} has ${c} fewer ${item} than ${from}.`];
    } else if (op === "mul") {
      const ks = [2, 3, 4, 5].filter((k) => v * k <= 999);
      if (ks.length) {
        const k = pick(r, ks);
        return [v * k, `${person} has ${MUL[k]} as many ${item} as ${from}.`];
      }
    } else if (op === "div") {
      const ks = [2, 3, 4].filter((k) => v % k === 0 && v / k >= 2);
      if (ks.length) {
        const k = pick(r, ks);
        return [v / k, `${person} has ${DIV[k]} as many ${item} as ${from}.`];
      }
    }
  }
  return [v - 1, `${person} has 1 fewer ${item} than ${from}.`];
}

function problem(r, ops) {
  const [item, other] = shuffle(r, [...ITEMS]).slice(0, 2);
  const people = shuffle(r, [...NAMES]);
  let v = randint(r, 2, 20);
  const facts = [`${people[0]} has ${v} ${item}.`];
  for (let i = 1; i <= ops; i++) {
    let fact;
    [v, fact] = derive(r, people[i], item, people[i - 1], v);
    facts.push(fact);
  }
  const target = people[ops];
  for (let d = randint(r, 1, 2), i = 0; i < d; i++) {
    facts.push(
      r() < 0.5
        ? `${people[ops + 1 + i]} has ${randint(r, 2, 20)} ${item}.`
        : `${pick(r, people.slice(0, ops + 1))} has ${randint(r, 2, 20)} ${other}.`,
    );
  }
  return { text: `${shuffle(r, facts).join(" ")} How many ${item} does ${target} have?`, answer: v };
}

// The calculator contract of models/tiny-calc/README.md (integers, + - * / and parentheses,
// exact division).
function calculate(text) {
  const toks = String(text).match(/\d+|[-+*/()]|\S/g) ?? [];
  let i = 0;
  const fail = (m) => {
    throw new Error(m);
  };
  const big = (x) => (Math.abs(x) >= 1e15 ? fail("error: number too large") : x);
  const atom = () => {
    const t = toks[i++];
    if (t === "-") return -atom();
    if (t === "(") {
      const x = sum();
      if (toks[i++] !== ")") fail("error: invalid expression");
      return x;
    }
    if (t !== undefined && /^\d+$/.test(t)) return big(Number(t));
    return fail("error: invalid expression");
  };
  const product = () => {
    let x = atom();
    while (toks[i] === "*" || toks[i] === "/") {
      const op = toks[i++];
      const y = atom();
      if (op === "*") x = big(x * y);
      else if (y === 0) fail("error: division by zero");
      else if (x % y !== 0) fail("error: inexact division");
      else x = x / y;
    }
    return x;
  };
  const sum = () => {
    let x = product();
    while (toks[i] === "+" || toks[i] === "-") x = big(toks[i++] === "+" ? x + product() : x - product());
    return x;
  };
  try {
    const x = sum();
    return i === toks.length ? String(x) : "error: invalid expression";
  } catch (e) {
    return e.message;
  }
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

async function chat(messages) {
  const res = await fetch(`${a.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      model: a.model,
      messages,
      tools: [TOOL],
      temperature: 0,
      max_tokens: Number(a["max-tokens"]),
    }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

// One conversation: returns its figures.
async function conversation(p, r) {
  const messages = [
    { role: "system", content: SYSTEM },
    { role: "user", content: p.text },
  ];
  const c = { seconds: 0, server_seconds: 0, requests: 0, tool_calls: 0, prompt: 0, cached: 0,
    completion: 0, correct: false, abandoned: false, error: null };
  const t0 = performance.now();
  try {
    for (let turn = 0; turn < Number(a["max-turns"]); turn++) {
      const s0 = performance.now();
      const body = await chat(messages);
      c.server_seconds += (performance.now() - s0) / 1000;
      c.requests++;
      const u = body.usage ?? {};
      c.prompt += u.prompt_tokens ?? 0;
      c.cached += u.prompt_tokens_details?.cached_tokens ?? 0;
      c.completion += u.completion_tokens ?? 0;
      if (a.trace) {
        const cached = u.prompt_tokens_details?.cached_tokens;
        console.error(`turn ${turn}: prompt ${u.prompt_tokens} cached ${cached} new ${u.prompt_tokens - cached} completion ${u.completion_tokens} ${((performance.now() - s0) / 1000).toFixed(2)} s`);
      }
      const msg = body.choices[0].message;
      const calls = msg.tool_calls ?? [];
      if (calls.length === 0) {
        const m = /Answer:\s*(-?\d+)/.exec(msg.content ?? "");
        c.correct = m !== null && Number(m[1]) === p.answer;
        break;
      }
      // Drawn in the same order in every mode, so each mode sees the same latencies.
      const quit = r() < Number(a.abandon);
      const [slowShare, slowRange] = a.slow.split(":");
      const [lo, hi] = range(r() < Number(slowShare) ? slowRange : a["latency-ms"]);
      const latency = lo + r() * (hi - lo);
      if (quit) {
        c.abandoned = true;
        break;
      }
      await sleep(latency);  // the calls of one turn run in parallel
      messages.push({ role: "assistant", content: msg.content ?? null, tool_calls: calls });
      for (const call of calls) {
        let expr = "";
        try {
          expr = JSON.parse(call.function.arguments).expression;
        } catch {}
        messages.push({ role: "tool", tool_call_id: call.id, content: calculate(expr) });
        c.tool_calls++;
      }
    }
  } catch (e) {
    c.error = String(e.message ?? e);
  }
  c.seconds = (performance.now() - t0) / 1000;
  return c;
}

// Counters whose names mention sessions, pins or the prefix cache, summed over labels.
async function scrape() {
  try {
    const res = await fetch(`${a.url}/metrics`);
    if (!res.ok) return {};
    const out = {};
    for (const line of (await res.text()).split("\n")) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (!m || !/session|pin|prefix_cache|preempt|prompt_tokens|evictions|prefilled|offloaded/.test(m[1]))
        continue;
      if (/_bucket$/.test(m[1])) continue;
      const tier = /tier="([^"]*)"/.exec(m[2] ?? "");
      const key = tier ? `${m[1]}{${tier[1]}}` : m[1];
      out[key] = (out[key] ?? 0) + Number(m[3]);
    }
    return out;
  } catch {
    return {};
  }
}

const quantile = (xs, q) => {
  if (xs.length === 0) return 0;
  const v = [...xs].sort((x, y) => x - y);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))];
};
const mean = (xs) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

async function run() {
  if (!a.url) throw new Error("--url is required");
  const clients = Number(a.clients);
  const per = Number(a.conversations);
  const [opsLo, opsHi] = range(a.ops);
  const seed = Number(a.seed);
  const before = await scrape();
  const t0 = performance.now();
  const all = await Promise.all(
    Array.from({ length: clients }, async (_, ci) => {
      // Problems and tool latencies from separate streams: a conversation that takes more
      // turns in one mode does not change the next one's problem.
      const r = rng(seed * 1000003 + ci);
      const done = [];
      for (let k = 0; k < per; k++) {
        const p = problem(r, randint(r, opsLo, opsHi));
        done.push(await conversation(p, rng(seed * 7919 + ci * 104729 + k * 15485863)));
      }
      return done;
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const after = await scrape();
  const convs = all.flat();
  const ok = convs.filter((c) => !c.error && !c.abandoned);
  const sum = (f) => convs.reduce((s, c) => s + f(c), 0);
  const metrics = {};
  for (const k of Object.keys(after)) metrics[k] = after[k] - (before[k] ?? 0);
  return {
    label: a.label,
    clients,
    conversations: convs.length,
    errors: convs.filter((c) => c.error).length,
    abandoned: convs.filter((c) => c.abandoned).length,
    first_error: convs.find((c) => c.error)?.error ?? null,
    correct: convs.filter((c) => c.correct).length,
    requests: sum((c) => c.requests),
    tool_calls: sum((c) => c.tool_calls),
    wall_seconds: wall,
    mean_seconds: mean(ok.map((c) => c.seconds)),
    p50_seconds: quantile(ok.map((c) => c.seconds), 0.5),
    p90_seconds: quantile(ok.map((c) => c.seconds), 0.9),
    mean_server_seconds: mean(ok.map((c) => c.server_seconds)),
    prompt_tokens: sum((c) => c.prompt),
    cached_tokens: sum((c) => c.cached),
    reprefilled_tokens: sum((c) => c.prompt - c.cached),
    completion_tokens: sum((c) => c.completion),
    metrics,
    seconds: ok.map((c) => c.seconds),
  };
}

// Runs of one label (rounds) are pooled: conversations' seconds together, tokens summed;
// "spread" is the min..max over rounds of the round's mean as a ratio to off's same round.
function summarize(files) {
  const runs = files.map((f) => JSON.parse(readFileSync(f, "utf8")));
  const labels = [...new Set(runs.map((r) => r.label))];
  const pooled = labels.map((label) => {
    const rs = runs.filter((r) => r.label === label);
    const total = (k) => rs.reduce((s, r) => s + r[k], 0);
    const seconds = rs.flatMap((r) => r.seconds);
    const metrics = {};
    for (const r of rs) for (const [k, v] of Object.entries(r.metrics)) metrics[k] = (metrics[k] ?? 0) + v;
    return { label, rounds: rs.length, conversations: total("conversations"), errors: total("errors"),
      abandoned: total("abandoned"), correct: total("correct"), requests: total("requests"),
      mean_seconds: mean(seconds), p50_seconds: quantile(seconds, 0.5), p90_seconds: quantile(seconds, 0.9),
      mean_server_seconds: mean(rs.map((r) => r.mean_server_seconds)),
      prompt_tokens: total("prompt_tokens"), cached_tokens: total("cached_tokens"),
      reprefilled_tokens: total("reprefilled_tokens"), completion_tokens: total("completion_tokens"),
      round_means: rs.map((r) => r.mean_seconds), metrics };
  });
  const base = pooled.find((r) => r.label === "off") ?? pooled[0];
  const ratio = (x, y) => (y ? (x / y).toFixed(2) : "-");
  const spread = (r) => {
    const q = r.round_means.map((m, i) => m / base.round_means[i]).filter(Number.isFinite);
    return q.length ? `${Math.min(...q).toFixed(2)}..${Math.max(...q).toFixed(2)}` : "-";
  };
  const rows = [["mode", "rounds", "convs", "errors", "abandoned", "right", "mean s", "p90 s",
    "server s", "prompt tok", "cached tok", "re-prefilled", "vs off: mean", "(rounds)", "p90",
    "re-prefilled"]];
  for (const r of pooled) {
    rows.push([r.label, r.rounds, r.conversations, r.errors, r.abandoned, r.correct,
      r.mean_seconds.toFixed(2), r.p90_seconds.toFixed(2), r.mean_server_seconds.toFixed(2),
      r.prompt_tokens, r.cached_tokens, r.reprefilled_tokens, ratio(r.mean_seconds, base.mean_seconds),
      spread(r), ratio(r.p90_seconds, base.p90_seconds),
      ratio(r.reprefilled_tokens, base.reprefilled_tokens)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  for (const row of rows) console.log(row.map((x, i) => String(x).padStart(widths[i])).join("  "));
  const pick = /session_|kv_pins_revoked|kv_evictions|prefix_cache_hit_tokens|engine_prefilled|preemptions/;
  for (const r of pooled) {
    const m = Object.entries(r.metrics).filter(([k]) => pick.test(k) && !/_active$|pinned_tokens$/.test(k));
    if (m.length) console.log(`${r.label}: ${m.map(([k, v]) => `${k.replace(/^(agentrt|vllm):/, "")} ${Math.round(v)}`).join(", ")}`);
  }
  return { base: base.label, modes: pooled, runs };
}

if (a.summarize) {
  const out = summarize(positionals);
  if (a.out) writeFileSync(a.out, JSON.stringify(out, null, 2) + "\n");
} else {
  const out = await run();
  const text = JSON.stringify(out);
  if (a.out) writeFileSync(a.out, text + "\n");
  console.log(text);
}
