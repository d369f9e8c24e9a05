// The Vercel AI SDK (`ai` with @ai-sdk/openai-compatible) against agentrt serve: one agent
// run with a calculator tool on a tiny-calc word problem, with generateText and streamText.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";

import {
  API_KEY,
  API_URL,
  CALCULATOR_TOOL,
  MODEL,
  PROBLEMS,
  SYSTEM_PROMPT,
  calculate,
  finalAnswer,
} from "./common.mjs";

const agentrt = createOpenAICompatible({
  name: "agentrt",
  baseURL: API_URL,
  apiKey: API_KEY,
  includeUsage: true,
});

const calculator = tool({
  description: CALCULATOR_TOOL.function.description,
  inputSchema: jsonSchema(CALCULATOR_TOOL.function.parameters),
  execute: async ({ expression }) => calculate(expression),
});

test("AI SDK generateText: a tool loop solves a tiny-calc problem", async () => {
  const problem = PROBLEMS[2];
  const result = await generateText({
    model: agentrt(MODEL),
    system: SYSTEM_PROMPT,
    prompt: problem.question,
    tools: { calculator },
    temperature: 0,
    stopWhen: stepCountIs(5),
  });
  assert.ok(result.steps.length >= 2, `${result.steps.length} steps`);
  const calls = result.steps.flatMap((s) => s.toolCalls);
  assert.equal(calls[0].toolName, "calculator");
  assert.equal(calls[0].input.expression, problem.expression);
  const results = result.steps.flatMap((s) => s.toolResults);
  assert.equal(results[0].output, String(problem.answer));
  assert.equal(result.steps[0].finishReason, "tool-calls");
  assert.equal(result.finishReason, "stop");
  assert.equal(finalAnswer(result.text), problem.answer, result.text);
  assert.ok(result.totalUsage.inputTokens > 0);
  assert.ok(result.totalUsage.outputTokens > 0);
});

test("AI SDK streamText: the same loop over streamed tool-call deltas", async () => {
  const problem = PROBLEMS[0];
  const result = streamText({
    model: agentrt(MODEL),
    system: SYSTEM_PROMPT,
    prompt: problem.question,
    tools: { calculator },
    temperature: 0,
    stopWhen: stepCountIs(5),
  });
  let text = "";
  const errors = [];
  for await (const part of result.fullStream) {
    if (part.type === "text-delta") text += part.text;
    if (part.type === "error") errors.push(part.error);
  }
  assert.deepEqual(errors, []);
  const steps = await result.steps;
  assert.ok(steps.length >= 2, `${steps.length} steps`);
  const calls = steps.flatMap((s) => s.toolCalls);
  assert.equal(calls[0].toolName, "calculator");
  assert.equal(calls[0].input.expression, problem.expression);
  assert.equal(finalAnswer(await result.text), problem.answer, text);
  assert.equal(finalAnswer(text), problem.answer, text);
});
