// LangGraph's prebuilt ReAct agent with LangChain's ChatOpenAI pointed at agentrt serve and a
// real calculator tool: it solves a tiny-calc word problem, and /metrics shows that the
// conversation's KV was pinned across the tool call and hit by the agent's next request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatOpenAI } from "@langchain/openai";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { tool } from "@langchain/core/tools";
import { AIMessage, AIMessageChunk, ToolMessage } from "@langchain/core/messages";

import {
  API_KEY,
  API_URL,
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

// The tool as a LangChain user writes it, with tiny-calc's JSON schema.
const calculator = tool(async ({ expression }) => calculate(expression), {
  name: CALCULATOR_TOOL.function.name,
  description: CALCULATOR_TOOL.function.description,
  schema: CALCULATOR_TOOL.function.parameters,
});

const llm = new ChatOpenAI({
  model: MODEL,
  temperature: 0,
  apiKey: API_KEY,
  configuration: { baseURL: API_URL },
});

// run.sh with AGENTRT_CLIENTS_NODES: completions run on cluster workers, whose session pins
// the server's /metrics does not count; the agents' answers are checked all the same.
const onCluster = Number(process.env.AGENTRT_CLIENTS_NODES ?? 0) > 0;

const SESSION_CREATED = "agentrt:session_pins_created_total";
const SESSION_HITS = "agentrt:session_pin_hits_total";

test("LangGraph ReAct agent solves a tiny-calc problem; the session pin is hit", async () => {
  const problem = PROBLEMS[0];
  const agent = createReactAgent({ llm, tools: [calculator], prompt: SYSTEM_PROMPT });
  const before = await scrapeMetrics();
  const result = await agent.invoke({ messages: [{ role: "user", content: problem.question }] });
  const after = await scrapeMetrics();

  const calls = result.messages.filter((m) => AIMessage.isInstance(m) && m.tool_calls?.length);
  assert.ok(calls.length >= 1, "the agent made no tool call");
  assert.equal(calls[0].tool_calls[0].name, "calculator");
  assert.equal(calls[0].tool_calls[0].args.expression, problem.expression);
  const results = result.messages.filter((m) => ToolMessage.isInstance(m));
  assert.equal(results[0].content, String(problem.answer));
  const last = result.messages.at(-1);
  assert.ok(AIMessage.isInstance(last));
  assert.equal(finalAnswer(last.content), problem.answer, String(last.content));
  if (onCluster) return;

  const names = after.map((f) => f.name).filter((n) => n.includes("session"));
  const created = metricValue(after, SESSION_CREATED) - metricValue(before, SESSION_CREATED);
  const hits = metricValue(after, SESSION_HITS) - metricValue(before, SESSION_HITS);
  assert.ok(created >= 1, `${SESSION_CREATED} +${created} (session metrics: ${names.join(", ")})`);
  assert.ok(hits >= 1, `${SESSION_HITS} +${hits} (session metrics: ${names.join(", ")})`);
});

// streamMode "messages" makes LangGraph stream the model's tokens: ChatOpenAI then sends
// stream: true and assembles the tool call from the server's deltas.
test("LangGraph agent streams tokens and steps (ChatOpenAI over SSE)", async () => {
  const problem = PROBLEMS[1];
  const agent = createReactAgent({ llm, tools: [calculator], prompt: SYSTEM_PROMPT });
  let state = null;
  let chunks = 0;
  for await (const [mode, payload] of await agent.stream(
    { messages: [{ role: "user", content: problem.question }] },
    { streamMode: ["values", "messages"] },
  )) {
    if (mode === "values") state = payload;
    else if (AIMessageChunk.isInstance(payload[0])) chunks++;
  }
  assert.ok(chunks >= 4, `${chunks} streamed message chunks`);
  const call = state.messages.find((m) => AIMessage.isInstance(m) && m.tool_calls?.length);
  assert.ok(call, "no tool call");
  assert.equal(call.tool_calls[0].name, "calculator");
  assert.equal(call.tool_calls[0].args.expression, problem.expression);
  const last = state.messages.at(-1);
  assert.equal(finalAnswer(last.content), problem.answer, String(last.content));
});

test("LangGraph agent runs two parallel calculator calls, then a third, then answers", async () => {
  const p = PARALLEL_PROBLEM;
  const agent = createReactAgent({ llm, tools: [calculator], prompt: SYSTEM_PROMPT });
  const result = await agent.invoke({ messages: [{ role: "user", content: p.question }] });
  const turns = result.messages.filter((m) => AIMessage.isInstance(m) && m.tool_calls?.length);
  assert.deepEqual(
    turns.map((m) => m.tool_calls.map((c) => c.args.expression)),
    p.calls,
  );
  const ids = turns[0].tool_calls.map((c) => c.id);
  assert.equal(new Set(ids).size, 2, `tool call ids ${ids}`);
  const last = result.messages.at(-1);
  assert.equal(finalAnswer(last.content), p.answer, String(last.content));
});
