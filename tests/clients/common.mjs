// Shared by the client tests (tests/clients/*.test.mjs): the server's address, tiny-calc's
// system prompt and calculator tool exactly as models/tiny-calc/README.md gives them (the
// model was trained on that rendering), a calculator with the reference contract
// (models/train/calculator.py), word problems greedy tiny-calc solves, and /metrics reads.
import parsePrometheusTextFormat from "parse-prometheus-text-format";

export const BASE_URL = process.env.AGENTRT_URL ?? "http://127.0.0.1:8080";
export const API_URL = `${BASE_URL}/v1`;
export const MODEL = "tiny-calc";
export const API_KEY = "unused"; // the test server runs without keys; clients want one

export const SYSTEM_PROMPT =
  "You solve arithmetic word problems. Use the calculator tool for every operation, " +
  "then give the final line as 'Answer: N'.";

// Key order matters: the chat template renders the definition as given.
export const CALCULATOR_TOOL = {
  type: "function",
  function: {
    name: "calculator",
    description:
      "Evaluate an integer arithmetic expression with + - * / and parentheses. " +
      "Division must be exact.",
    parameters: {
      type: "object",
      properties: {
        expression: { type: "string", description: "The expression, e.g. 12 * (3 + 4)" },
      },
      required: ["expression"],
    },
  },
};

// One-operation problems from tiny-calc's held-out set that greedy decoding solves in one
// calculator call (bench/results/workflow_accuracy_48.json, checked against this server).
export const PROBLEMS = [
  {
    question: "Ian has 7 cups. Gus has 1 more cups than Ian. Vera has 14 cups. How many cups does Gus have?",
    expression: "7 + 1",
    answer: 8,
  },
  {
    question:
      "Adam has 3 flowers. Max has 3 flowers. Cara has three times as many flowers as Adam. How many flowers does Cara have?",
    expression: "3 * 3",
    answer: 9,
  },
  {
    question:
      "Gina has 18 candles. Nina has 4 more candles than Gina. Maya has half as many candles as Gina. How many candles does Maya have?",
    expression: "18 / 2",
    answer: 9,
  },
];

// A three-operation problem that greedy tiny-calc solves with two calls in its first turn,
// one in its second, then the answer (held-out set, level (3, 3)).
export const PARALLEL_PROBLEM = {
  question:
    "Hana has 8 shells. Rosa has 19 pencils. Rosa has as many shells as Quinn has more than Umar. " +
    "Max has 1 more shells than Hana. Umar has 5 fewer shells than Hana. Xena has 18 shells. " +
    "Quinn has 2 fewer shells than Hana. How many shells does Rosa have?",
  calls: [["8 - 2", "8 + 1"], ["9 - 6"]],
  answer: 3,
};

// The calculator tool: the exact integer value of `expression` as a decimal string, or
// "error: ..." as models/train/calculator.py gives it.
export function calculate(expression) {
  const LIMIT = 10n ** 15n;
  const toks = [];
  for (let i = 0; i < expression.length; ) {
    const ch = expression[i];
    if (" \t\n".includes(ch)) i++;
    else if (ch >= "0" && ch <= "9") {
      let j = i;
      while (j < expression.length && expression[j] >= "0" && expression[j] <= "9") j++;
      toks.push(BigInt(expression.slice(i, j)));
      i = j;
    } else if ("+-*/()".includes(ch)) toks.push(expression[i++]);
    else return "error: invalid expression";
  }
  let pos = 0;
  const fail = (msg) => {
    throw new Error(msg);
  };
  const check = (v) => (v >= LIMIT || v <= -LIMIT ? fail("error: number too large") : v);
  const expr = () => {
    let v = term();
    while (toks[pos] === "+" || toks[pos] === "-") {
      const op = toks[pos++];
      const r = term();
      v = check(op === "+" ? v + r : v - r);
    }
    return v;
  };
  const term = () => {
    let v = unary();
    while (toks[pos] === "*" || toks[pos] === "/") {
      const op = toks[pos++];
      const r = unary();
      if (op === "*") v = check(v * r);
      else if (r === 0n) fail("error: division by zero");
      else if (v % r !== 0n) fail("error: inexact division");
      else v = check(v / r);
    }
    return v;
  };
  const unary = () => {
    if (toks[pos] === "-") {
      pos++;
      return check(-unary());
    }
    const t = toks[pos++];
    if (typeof t === "bigint") return check(t);
    if (t === "(") {
      const v = expr();
      if (toks[pos++] !== ")") fail("error: invalid expression");
      return v;
    }
    return fail("error: invalid expression");
  };
  try {
    const v = expr();
    if (pos !== toks.length) return "error: invalid expression";
    return v.toString();
  } catch (e) {
    return e.message;
  }
}

// The value of `Answer: N` on the reply's last such line, or null.
export function finalAnswer(text) {
  const all = [...String(text).matchAll(/Answer:\s*(-?\d+)/g)];
  return all.length ? Number(all.at(-1)[1]) : null;
}

// GET /metrics parsed by a real Prometheus text parser: [{name, help, type, metrics}].
export async function scrapeMetrics() {
  const res = await fetch(`${BASE_URL}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
  return parsePrometheusTextFormat(await res.text());
}

// Sum of a counter or gauge family's samples whose labels include `labels` (0 if absent).
export function metricValue(families, name, labels = {}) {
  const f = families.find((x) => x.name === name);
  if (!f) return 0;
  let sum = 0;
  for (const m of f.metrics) {
    const l = m.labels ?? {};
    if (Object.entries(labels).every(([k, v]) => l[k] === v)) sum += Number(m.value);
  }
  return sum;
}
