// The official `openai` npm package against agentrt serve, used as its users write it:
// models, chat (plain, streaming, n = 3, tools with a full tool round-trip on tiny-calc,
// streamed tool calls, runTools, parallel calls, tool_choice, logprobs), completions (plain,
// streaming, logprobs, stop), structured output (zodResponseFormat), usage.cached_tokens,
// agent sessions (header, retain_s, expiry), a client that aborts a stream, and the error
// cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";

import {
  API_KEY,
  API_URL,
  BASE_URL,
  CALCULATOR_TOOL,
  MODEL,
  PARALLEL_PROBLEM,
  PROBLEMS,
  SYSTEM_PROMPT,
  calculate,
  finalAnswer,
  metricValue,
  scrapeMetrics,
} from "./common.mjs";

const client = new OpenAI({ baseURL: API_URL, apiKey: API_KEY });
// run.sh with AGENTRT_CLIENTS_NODES: completions run on cluster workers, whose engines the
// server's /metrics does not count, so the tests that read engine metrics are skipped.
const onCluster = Number(process.env.AGENTRT_CLIENTS_NODES ?? 0) > 0;
const localMetrics = onCluster && "completions run on cluster workers: /metrics counts none";
const problem = PROBLEMS[0];

function calcMessages(question) {
  return [
    { role: "system", content: SYSTEM_PROMPT },
    { role: "user", content: question },
  ];
}

test("models.list names tiny-calc", async () => {
  const ids = [];
  for await (const m of client.models.list()) {
    assert.equal(m.object, "model");
    ids.push(m.id);
  }
  assert.ok(ids.includes(MODEL), `models: ${ids.join(", ")}`);
  const one = await client.models.retrieve(MODEL).catch((e) => e);
  // GET /v1/models/{id} is optional in agentrt; when served it names the model.
  if (!(one instanceof Error)) assert.equal(one.id, MODEL);
});

test("cluster: every completion names the worker that ran it", { skip: !onCluster }, async () => {
  const { data, response } = await client.chat.completions
    .create({ model: MODEL, messages: calcMessages(problem.question), max_tokens: 8, temperature: 0 })
    .withResponse();
  assert.equal(data.object, "chat.completion");
  assert.match(response.headers.get("x-agentrt-node") ?? "", /^worker\d+$/);
});

test("chat: plain completion with usage", async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: "Sam has 13 stamps. Kate has 7 more stamps than Sam." }],
    max_tokens: 24,
    temperature: 0,
  });
  assert.equal(r.object, "chat.completion");
  assert.match(r.id, /\S/);
  assert.equal(typeof r.created, "number");
  assert.equal(r.model, MODEL);
  assert.equal(r.choices.length, 1);
  const c = r.choices[0];
  assert.equal(c.index, 0);
  assert.equal(c.message.role, "assistant");
  assert.equal(typeof c.message.content, "string");
  assert.ok(c.message.content.length > 0);
  assert.ok(["stop", "length"].includes(c.finish_reason), c.finish_reason);
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 24);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test("chat: structured output with zodResponseFormat: every sample parses and validates", async () => {
  // Sampled at temperature 1 from tiny-calc, which never saw JSON: only the server's
  // constrained decoding makes these parse. (No free strings: without maxLength a model
  // that never learned JSON may not close one within max_tokens.)
  const Result = z.object({
    answer: z.number(),
    unit: z.enum(["cups", "stamps"]),
    sure: z.boolean(),
    steps: z.array(z.number()).max(2),
  });
  const r = await client.chat.completions.parse({
    model: MODEL,
    messages: [{ role: "user", content: problem.question }],
    temperature: 1,
    seed: 3,
    n: 3,
    max_tokens: 300,
    response_format: zodResponseFormat(Result, "result"),
  });
  assert.equal(r.choices.length, 3);
  for (const c of r.choices) {
    assert.equal(c.finish_reason, "stop");
    assert.ok(c.message.parsed, c.message.content);
    Result.parse(c.message.parsed);
    assert.deepEqual(JSON.parse(c.message.content), c.message.parsed);
  }
  // A keyword the server cannot honour is a 400 naming it.
  const bad = await client.chat.completions
    .create({
      model: MODEL,
      messages: [{ role: "user", content: "hi" }],
      response_format: {
        type: "json_schema",
        json_schema: { name: "r", schema: { type: "string", pattern: "^a" } },
      },
    })
    .catch((e) => e);
  assert.ok(bad instanceof OpenAI.BadRequestError, String(bad));
  assert.equal(bad.param, "response_format/json_schema/schema/pattern");
});

test("chat: max_tokens ends with finish_reason length", async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    messages: calcMessages(problem.question),
    max_tokens: 3,
    temperature: 0,
  });
  assert.equal(r.choices[0].finish_reason, "length");
  assert.equal(r.usage.completion_tokens, 3);
});

test("chat: streaming deltas add up to the non-streamed reply, then [DONE]", async () => {
  const body = {
    model: MODEL,
    messages: [{ role: "user", content: problem.question }],
    max_tokens: 32,
    temperature: 0,
  };
  const whole = await client.chat.completions.create(body);
  const stream = await client.chat.completions.create({
    ...body,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let finish = null;
  let usage = null;
  let chunks = 0;
  let role = null;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, "chat.completion.chunk");
    assert.equal(chunk.model, MODEL);
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      assert.equal(c.index, 0);
      if (c.delta.role) role = c.delta.role;
      if (c.delta.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.ok(chunks >= 2, `only ${chunks} chunks`);
  assert.equal(role, "assistant");
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.ok(usage, "no usage chunk with stream_options.include_usage");
  assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
  assert.equal(usage.prompt_tokens, whole.usage.prompt_tokens);

  // The raw stream, as the client received it: SSE data lines ending with [DONE].
  const raw = await client.chat.completions.create({ ...body, stream: true }).asResponse();
  assert.match(raw.headers.get("content-type") ?? "", /text\/event-stream/);
  const events = (await raw.text()).split("\n").filter((l) => l.startsWith("data: "));
  assert.equal(events.at(-1), "data: [DONE]");
  assert.equal(events.filter((l) => l === "data: [DONE]").length, 1);
});

test("chat: n = 3 gives three choices, streamed with their own index", async () => {
  const body = {
    model: MODEL,
    messages: calcMessages(problem.question),
    max_tokens: 16,
    temperature: 1,
    seed: 7,
    n: 3,
  };
  const r = await client.chat.completions.create(body);
  assert.deepEqual(
    r.choices.map((c) => c.index),
    [0, 1, 2],
  );
  for (const c of r.choices) assert.ok(["stop", "length", "tool_calls"].includes(c.finish_reason));
  assert.ok(r.usage.completion_tokens >= 3);

  const stream = await client.chat.completions.create({ ...body, stream: true });
  const text = ["", "", ""];
  const finishes = [0, 0, 0];
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      assert.ok(c.index >= 0 && c.index < 3, `index ${c.index}`);
      text[c.index] += c.delta.content ?? "";
      for (const t of c.delta.tool_calls ?? []) text[c.index] += t.function?.arguments ?? "";
      if (c.finish_reason) finishes[c.index]++;
    }
  }
  assert.deepEqual(finishes, [1, 1, 1]);
  for (const t of text) assert.ok(t.length > 0);
});

test("chat: tools, a full calculator round-trip on a tiny-calc word problem", async () => {
  const messages = calcMessages(problem.question);
  const first = await client.chat.completions.create({
    model: MODEL,
    messages,
    tools: [CALCULATOR_TOOL],
    temperature: 0,
    max_tokens: 128,
  });
  const reply = first.choices[0];
  assert.equal(reply.finish_reason, "tool_calls");
  assert.equal(reply.message.role, "assistant");
  assert.equal(reply.message.tool_calls.length, 1);
  const call = reply.message.tool_calls[0];
  assert.equal(call.type, "function");
  assert.match(call.id, /^call_/);
  assert.equal(call.function.name, "calculator");
  const args = JSON.parse(call.function.arguments);
  assert.equal(args.expression, problem.expression);
  assert.ok(!reply.message.content?.includes("<tool_call>"), reply.message.content);

  messages.push(reply.message);
  messages.push({ role: "tool", tool_call_id: call.id, content: calculate(args.expression) });
  const second = await client.chat.completions.create({
    model: MODEL,
    messages,
    tools: [CALCULATOR_TOOL],
    temperature: 0,
    max_tokens: 128,
  });
  assert.equal(second.choices[0].finish_reason, "stop");
  assert.equal(finalAnswer(second.choices[0].message.content), problem.answer);
  assert.ok(!second.choices[0].message.tool_calls?.length);
  // The second turn continues the first: its prompt is served from the cache.
  assert.ok(second.usage.prompt_tokens_details?.cached_tokens > 0, JSON.stringify(second.usage));
});

test("chat: streamed tool call arguments arrive as deltas of the same call", async () => {
  const body = {
    model: MODEL,
    messages: calcMessages(PROBLEMS[1].question),
    tools: [CALCULATOR_TOOL],
    temperature: 0,
    max_tokens: 128,
  };
  const whole = await client.chat.completions.create(body);
  const stream = await client.chat.completions.create({ ...body, stream: true });
  const calls = [];
  let content = "";
  let finish = null;
  for await (const chunk of stream) {
    const c = chunk.choices[0];
    if (!c) continue;
    content += c.delta.content ?? "";
    for (const d of c.delta.tool_calls ?? []) {
      if (!calls[d.index]) calls[d.index] = { id: "", name: "", arguments: "" };
      const t = calls[d.index];
      if (d.id) t.id = d.id;
      if (d.function?.name) t.name += d.function.name;
      if (d.function?.arguments) t.arguments += d.function.arguments;
    }
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(finish, "tool_calls");
  assert.equal(calls.length, 1);
  assert.match(calls[0].id, /^call_/);
  assert.equal(calls[0].name, "calculator");
  const want = whole.choices[0].message.tool_calls[0].function.arguments;
  assert.deepEqual(JSON.parse(calls[0].arguments), JSON.parse(want));
  assert.equal(JSON.parse(calls[0].arguments).expression, PROBLEMS[1].expression);
  assert.equal(content, whole.choices[0].message.content ?? "");
});

test("chat: the client's own tool loop (runTools), whole and streamed", async () => {
  const p = PROBLEMS[1];
  for (const stream of [false, true]) {
    const runner = client.chat.completions.runTools({
      model: MODEL,
      messages: calcMessages(p.question),
      tools: [
        {
          type: "function",
          function: {
            function: ({ expression }) => calculate(expression),
            parse: JSON.parse,
            ...CALCULATOR_TOOL.function,
          },
        },
      ],
      temperature: 0,
      stream,
    });
    const content = await runner.finalContent();
    assert.equal(finalAnswer(content), p.answer, `stream ${stream}: ${content}`);
    const calls = runner.messages.flatMap((m) => m.tool_calls ?? []);
    assert.equal(calls.length, 1);
    assert.equal(JSON.parse(calls[0].function.arguments).expression, p.expression);
    const tool = runner.messages.find((m) => m.role === "tool");
    assert.equal(tool.content, String(p.answer));
  }
});

test("chat: parallel tool calls, and parallel_tool_calls false keeps the first", async () => {
  const body = {
    model: MODEL,
    messages: calcMessages(PARALLEL_PROBLEM.question),
    tools: [CALCULATOR_TOOL],
    temperature: 0,
    max_tokens: 256,
  };
  const both = await client.chat.completions.create(body);
  const calls = both.choices[0].message.tool_calls ?? [];
  assert.deepEqual(
    calls.map((c) => JSON.parse(c.function.arguments).expression),
    PARALLEL_PROBLEM.calls[0],
  );
  assert.notEqual(calls[0].id, calls[1].id);
  const one = await client.chat.completions.create({ ...body, parallel_tool_calls: false });
  assert.equal(one.choices[0].finish_reason, "tool_calls");
  assert.deepEqual(
    one.choices[0].message.tool_calls.map((c) => JSON.parse(c.function.arguments).expression),
    PARALLEL_PROBLEM.calls[0].slice(0, 1),
  );
});

const forcedBase = {
  model: MODEL,
  messages: calcMessages(problem.question),
  tools: [CALCULATOR_TOOL],
  temperature: 0,
  max_tokens: 64,
};

test("chat: tool_choice none answers without calls", async () => {
  const none = await client.chat.completions.create({ ...forcedBase, tool_choice: "none" });
  assert.notEqual(none.choices[0].finish_reason, "tool_calls");
  assert.ok(!none.choices[0].message.tool_calls?.length);
});

// OpenAI answers a forced call with finish_reason "stop"; "tool_calls" is fine too.
for (const [name, tool_choice] of [
  ["required", "required"],
  ["a named function", { type: "function", function: { name: "calculator" } }],
]) {
  test(`chat: tool_choice ${name} gives one parseable calculator call`, async () => {
    const r = await client.chat.completions.create({ ...forcedBase, tool_choice });
    const c = r.choices[0];
    assert.ok(["tool_calls", "stop"].includes(c.finish_reason), c.finish_reason);
    assert.equal(c.message.tool_calls?.length, 1, JSON.stringify(c.message));
    assert.equal(c.message.tool_calls[0].function.name, "calculator");
    const args = JSON.parse(c.message.tool_calls[0].function.arguments);
    assert.equal(typeof args.expression, "string");
  });
}

test("chat: logprobs with top_logprobs", async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    messages: calcMessages(problem.question),
    max_tokens: 8,
    temperature: 0,
    logprobs: true,
    top_logprobs: 3,
  });
  const lp = r.choices[0].logprobs?.content;
  assert.ok(Array.isArray(lp), JSON.stringify(r.choices[0]));
  assert.equal(lp.length, r.usage.completion_tokens);
  for (const t of lp) {
    assert.equal(typeof t.token, "string");
    assert.ok(t.logprob <= 0 && Number.isFinite(t.logprob), `logprob ${t.logprob}`);
    assert.equal(t.top_logprobs.length, 3);
    // Greedy: the chosen token is the most likely one.
    const best = Math.max(...t.top_logprobs.map((x) => x.logprob));
    assert.ok(Math.abs(best - t.logprob) < 1e-4, `${t.logprob} vs best ${best}`);
    assert.ok(Array.isArray(t.bytes));
  }
  assert.equal(lp.map((t) => t.token).join(""), r.choices[0].message.content ?? lp.map((t) => t.token).join(""));
  const off = await client.chat.completions.create({
    model: MODEL,
    messages: calcMessages(problem.question),
    max_tokens: 4,
    temperature: 0,
  });
  assert.ok(off.choices[0].logprobs == null);
});

test("completions: plain and streaming", async () => {
  const prompt = "<|im_start|>user\n" + problem.question + "<|im_end|>\n<|im_start|>assistant\n";
  const body = { model: MODEL, prompt, max_tokens: 24, temperature: 0 };
  const r = await client.completions.create(body);
  assert.equal(r.object, "text_completion");
  assert.equal(r.model, MODEL);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].index, 0);
  assert.equal(typeof r.choices[0].text, "string");
  assert.ok(r.choices[0].text.length > 0);
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 10);
  assert.ok(r.usage.completion_tokens > 0);

  const stream = await client.completions.create({
    ...body,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.text;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, r.choices[0].text);
  assert.equal(finish, r.choices[0].finish_reason);
  assert.equal(usage?.completion_tokens, r.usage.completion_tokens);

  const lp = await client.completions.create({ ...body, max_tokens: 4, logprobs: 2 });
  const l = lp.choices[0].logprobs;
  assert.equal(l.tokens.length, 4);
  assert.equal(l.token_logprobs.length, 4);
  assert.equal(l.top_logprobs.length, 4);
  for (const top of l.top_logprobs) assert.equal(Object.keys(top).length >= 1, true);
  assert.equal(l.tokens.join(""), lp.choices[0].text);

  const stop = await client.completions.create({ ...body, stop: ["\n"] });
  assert.ok(!stop.choices[0].text.includes("\n"), JSON.stringify(stop.choices[0].text));
});

test("usage.prompt_tokens_details.cached_tokens on a repeated prompt", async () => {
  const body = {
    model: MODEL,
    messages: calcMessages(PROBLEMS[2].question),
    tools: [CALCULATOR_TOOL],
    max_tokens: 2,
    temperature: 0,
  };
  const first = await client.chat.completions.create(body);
  const again = await client.chat.completions.create(body);
  assert.equal(again.usage.prompt_tokens, first.usage.prompt_tokens);
  const cached = again.usage.prompt_tokens_details?.cached_tokens;
  assert.ok(cached > 0, JSON.stringify(again.usage));
  assert.ok(cached <= again.usage.prompt_tokens);
});

test("agent sessions: the header names the session, agentrt.retain_s sets the pin", { skip: localMetrics }, async () => {
  const session = new OpenAI({
    baseURL: API_URL,
    apiKey: API_KEY,
    defaultHeaders: { "X-Agentrt-Session": `clients-test-${process.pid}` },
  });
  const created = "agentrt:session_pins_created_total";
  const hits = "agentrt:session_pin_hits_total";
  const before = await scrapeMetrics();
  const p = PROBLEMS[2];
  const messages = calcMessages(p.question);
  const body = { model: MODEL, tools: [CALCULATOR_TOOL], temperature: 0, max_tokens: 128 };
  // An extra body field, as openai-node passes it: agentrt's extension object.
  const first = await session.chat.completions.create({ ...body, messages, agentrt: { retain_s: 30 } });
  assert.equal(first.choices[0].finish_reason, "tool_calls");
  const mid = await scrapeMetrics();
  assert.ok(metricValue(mid, "agentrt:session_pins_active") >= 1, "no active session pin");
  assert.ok(metricValue(mid, "agentrt:session_pinned_tokens") > 0);
  const call = first.choices[0].message.tool_calls[0];
  messages.push(first.choices[0].message);
  messages.push({ role: "tool", tool_call_id: call.id, content: calculate(JSON.parse(call.function.arguments).expression) });
  const second = await session.chat.completions.create({ ...body, messages });
  assert.equal(finalAnswer(second.choices[0].message.content), p.answer);
  const after = await scrapeMetrics();
  assert.ok(metricValue(after, created) - metricValue(before, created) >= 1);
  assert.ok(metricValue(after, hits) - metricValue(before, hits) >= 1);
  // The pinned prompt and reply are reused: only the tool response is new.
  const u = second.usage;
  assert.ok(u.prompt_tokens - u.prompt_tokens_details.cached_tokens < 32, JSON.stringify(u));
});

test("agent sessions: a pin whose client never comes back expires after retain_s", { skip: localMetrics }, async () => {
  const before = await scrapeMetrics();
  const expired = "agentrt:session_pins_expired_total";
  const created = "agentrt:session_pins_created_total";
  const r = await client.chat.completions.create({
    model: MODEL,
    messages: calcMessages(PROBLEMS[0].question),
    tools: [CALCULATOR_TOOL],
    temperature: 0,
    max_tokens: 128,
    agentrt: { session: `expiring-${process.pid}`, retain_s: 2 },
  });
  assert.equal(r.choices[0].finish_reason, "tool_calls");
  // Counted, not read as active: on a loaded machine the pin may already have expired here.
  let m = await scrapeMetrics();
  assert.ok(metricValue(m, created) - metricValue(before, created) >= 1);
  for (let i = 0; i < 80 && metricValue(m, expired) === metricValue(before, expired); i++) {
    await new Promise((res) => setTimeout(res, 100));
    m = await scrapeMetrics();
  }
  assert.equal(metricValue(m, expired) - metricValue(before, expired), 1);
  assert.equal(metricValue(m, "agentrt:session_pins_active"), 0);
  assert.equal(metricValue(m, "agentrt:session_pinned_tokens"), 0);
});

test("a client that aborts a stream ends its request on the server", { skip: localMetrics }, async () => {
  const decoded = "agentrt:engine_decoded_tokens_total";
  const abort = ["vllm:request_success_total", { finished_reason: "abort" }];
  const before = await scrapeMetrics();
  const stream = await client.completions.create({
    model: MODEL,
    prompt: "Ian has 7 cups.",
    max_tokens: 3000,
    ignore_eos: true,
    stream: true,
  });
  let chunks = 0;
  // Leaving the loop aborts the HTTP request (openai-node's Stream closes its controller).
  for await (const chunk of stream) {
    assert.equal(chunk.choices[0].finish_reason, null);
    if (++chunks === 3) break;
  }
  let m = await scrapeMetrics();
  for (let i = 0; i < 50 && metricValue(m, "vllm:num_requests_running") > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    m = await scrapeMetrics();
  }
  assert.equal(metricValue(m, "vllm:num_requests_running"), 0, "the aborted request still runs");
  assert.equal(metricValue(m, ...abort) - metricValue(before, ...abort), 1);
  // Cut short: the tokens decoded until the server saw the closed connection (a few
  // hundred at most on a loaded machine), nowhere near 3000.
  await new Promise((r) => setTimeout(r, 300));
  m = await scrapeMetrics();
  const made = metricValue(m, decoded) - metricValue(before, decoded);
  assert.ok(made < 1500, `${made} tokens decoded after the client left`);
});

async function expectError(promise, status, param) {
  const e = await promise.then(
    (r) => assert.fail(`expected ${status}, got ${JSON.stringify(r).slice(0, 300)}`),
    (err) => err,
  );
  assert.ok(e instanceof OpenAI.APIError, String(e));
  assert.equal(e.status, status, e.message);
  assert.equal(typeof e.error?.message, "string");
  assert.ok(e.error.message.length > 0);
  // The param names the field, or a place inside it ("response_format/type").
  if (param !== undefined) assert.match(e.param ?? "", new RegExp(`^${param}($|[/.\\[])`), JSON.stringify(e.error));
  return e;
}

test("errors: the OpenAI error object, with the param named", async () => {
  const ok = { model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 2 };
  const c = new OpenAI({ baseURL: API_URL, apiKey: API_KEY, maxRetries: 0 });

  let e = await expectError(c.chat.completions.create({ ...ok, temperature: 5 }), 400, "temperature");
  assert.ok(e instanceof OpenAI.BadRequestError);
  assert.equal(e.type, "invalid_request_error");

  e = await expectError(c.chat.completions.create({ ...ok, frobnicate: true }), 400, "frobnicate");
  assert.match(e.message, /frobnicate/);

  e = await expectError(c.chat.completions.create({ ...ok, model: "no-such-model" }), 404);
  assert.ok(e instanceof OpenAI.NotFoundError);
  assert.match(e.message, /no-such-model/);

  e = await expectError(c.chat.completions.create({ model: MODEL, max_tokens: 2 }), 400, "messages");

  // Fields agentrt cannot honour are refused by name, never ignored.
  await expectError(
    c.chat.completions.create({ ...ok, response_format: { type: "grammar" } }),
    400,
    "response_format",
  );
  await expectError(c.chat.completions.create({ ...ok, logit_bias: { 12: 5 } }), 400, "logit_bias");
  await expectError(c.chat.completions.create({ ...ok, top_logprobs: 50, logprobs: true }), 400, "top_logprobs");
  await expectError(
    c.chat.completions.create({ ...ok, messages: [{ role: "robot", content: "hi" }] }),
    400,
  );
  await expectError(c.completions.create({ model: MODEL, prompt: "x", echo: true }), 400, "echo");

  // A raw request with a body that is not JSON.
  const raw = await fetch(`${BASE_URL}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{not json",
  });
  assert.equal(raw.status, 400);
  const j = await raw.json();
  assert.equal(j.error.type, "invalid_request_error");
});
