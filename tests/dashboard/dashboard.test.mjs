// The dashboard (GET /, api/dashboard/assets) in Debian's chromium driven by puppeteer-core,
// against a fresh `agentrt serve` on tiny-calc (tests/dashboard/run.sh starts it):
// - the page loads without the server's API key, says it needs one, and works once the key
//   is entered in its key field (the server runs with --api-key-file);
// - an invalid workflow submitted through the form shows its diagnostics with line and
//   column, the same as POST /v1/workflows/validate gives;
// - team_review submitted through the form opens its job page and finishes there;
// - the step DAG, the tool-call timeline and the KV pin indicators match GET /v1/jobs/{id};
// - the Engine page shows the KV tiers, the pins and its charts, read from /metrics;
// - no console error or page error at any point; a screenshot of each page is saved.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import puppeteer from "puppeteer-core";

const BASE_URL = process.env.AGENTRT_URL ?? "http://127.0.0.1:8080";
const SRC = process.env.AGENTRT_SOURCE_DIR ?? "../..";
const API_KEY = process.env.AGENTRT_API_KEY ?? "";
const AUTH = API_KEY ? { Authorization: `Bearer ${API_KEY}` } : {};
const SHOTS = process.env.SCREENSHOT_DIR ?? ".";
const TEAM_REVIEW = readFileSync(join(SRC, "workflows/examples/team_review.yaml"), "utf8");
// Line 6 names an agent nobody declared; line 8's step has an unknown key.
const INVALID = `name: broken
agents:
  solver: { system: "You solve problems." }
steps:
  - id: a
    agent: nobody
    input: hi
  - id: b
    agent: solver
    inptu: hello
`;

let browser;
let page;
const problems = [];  // console errors and page errors

before(async () => {
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 860 });
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()} ${JSON.stringify(msg.location())}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
});

after(async () => {
  await browser?.close();
});

async function getJson(path) {
  const res = await fetch(`${BASE_URL}${path}`, { headers: AUTH });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
}

// Puts text into a textarea as typing would (an input event), without typing it key by key.
async function fill(selector, text) {
  await page.$eval(
    selector,
    (el, v) => {
      el.value = v;
      el.dispatchEvent(new Event("input", { bubbles: true }));
    },
    text,
  );
}

async function shot(name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

function noProblems(where) {
  assert.deepEqual(problems, [], `${where}: console errors`);
}

test("the page is served by the server with its assets", async () => {
  const res = await fetch(`${BASE_URL}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/html/);
  await page.goto(`${BASE_URL}/#/jobs`, { waitUntil: "networkidle0" });
  assert.equal(await page.title(), "agentrt dashboard");
  assert.equal(await page.evaluate(() => typeof window.uPlot), "function");
  if (API_KEY) {
    // Without the key the data requests are refused (the browser logs each 401), and the
    // page asks for the key; with it entered and saved, they succeed.
    assert.equal((await fetch(`${BASE_URL}/v1/jobs`)).status, 401);
    await page.waitForSelector("#banner:not([hidden])");
    assert.match(await page.$eval("#banner", (el) => el.textContent), /API key/);
    assert.ok(problems.length > 0 && problems.every((p) => / 401 /.test(p)), problems.join("\n"));
    await page.type("#api-key", API_KEY);
    await page.click("#key-form button");
    await page.waitForSelector("#banner", { hidden: true });
    await page.waitForFunction(() => document.querySelector("#jobs-count")?.textContent.startsWith("0 job"));
    assert.equal(await page.evaluate(() => localStorage.getItem("agentrt.apiKey")), API_KEY);
    // The page keeps polling while the key is typed: a poll sent before it was saved may
    // log its 401 after that. Once the network is idle, every request carries the key; the
    // 401s so far are all the keyless page's, and any later one fails the next check.
    await page.waitForNetworkIdle({ idleTime: 500 });
    assert.ok(problems.every((p) => / 401 /.test(p)), problems.join("\n"));
    problems.length = 0;
  }
  noProblems("load");
});

test("an invalid workflow shows its diagnostics with line and column", async () => {
  const expected = await (
    await fetch(`${BASE_URL}/v1/workflows/validate`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...AUTH },
      body: JSON.stringify({ yaml: INVALID }),
    })
  ).json();
  assert.equal(expected.valid, false);
  assert.ok(expected.errors.length >= 1);

  await page.waitForSelector("#yaml");
  await fill("#yaml", INVALID);
  await page.click("#submit");
  await page.waitForSelector("#diagnostics li");
  const shown = await page.$$eval("#diagnostics li", (lis) =>
    lis.map((li) => ({ line: Number(li.dataset.line), column: Number(li.dataset.column), text: li.textContent })),
  );
  assert.equal(shown.length, expected.errors.length);
  for (let i = 0; i < shown.length; ++i) {
    const e = expected.errors[i];
    assert.equal(shown[i].line, e.line);
    assert.equal(shown[i].column, e.column);
    assert.ok(shown[i].text.includes(`line ${e.line}, column ${e.column}`), shown[i].text);
    assert.ok(shown[i].text.includes(e.message), shown[i].text);
  }
  assert.ok(shown.some((d) => d.line === 6 && /nobody/.test(d.text)), JSON.stringify(shown));
  // Nothing was submitted.
  assert.equal((await getJson("/v1/jobs")).jobs.length, 0);
  assert.match(await page.url(), /#\/jobs$/);
  await shot("jobs-invalid");
  noProblems("invalid workflow");
});

let jobId;

test("team_review submitted through the form finishes on its page", async () => {
  await fill("#yaml", TEAM_REVIEW);
  await fill("#inputs", "");
  await Promise.all([page.waitForFunction(() => location.hash.startsWith("#/job/")), page.click("#submit")]);
  jobId = decodeURIComponent((await page.evaluate(() => location.hash)).slice("#/job/".length));
  assert.match(jobId, /^[A-Za-z0-9_-]+$/);
  await page.waitForFunction(() => document.getElementById("view").dataset.ready === "finished", {
    timeout: 120_000,
    polling: 200,
  });
  const job = await getJson(`/v1/jobs/${jobId}`);
  assert.equal(job.state, "succeeded", JSON.stringify(job.error));
  assert.equal(await page.$eval("#job-state", (el) => el.textContent), "succeeded");

  // The DAG: one node per step in the job's state, three edges into `check`.
  const nodes = await page.$$eval("#dag g.node", (gs) => gs.map((g) => ({ id: g.dataset.step, state: g.dataset.state })));
  assert.deepEqual(
    nodes.map((n) => n.id).sort(),
    job.steps.map((s) => s.id).sort(),
  );
  for (const s of job.steps) assert.equal(nodes.find((n) => n.id === s.id).state, s.state, s.id);
  const edges = await page.$$eval("#dag path.edge", (ps) => ps.map((p) => `${p.dataset.from}->${p.dataset.to}`));
  assert.deepEqual(edges.sort(), ["review_a->check", "review_b->check", "review_c->check"]);

  // The tool-call timeline: each tool call of the job's JSON as a segment with its KV pin
  // and a row with the tool's name and duration, per step as many as the step made.
  const totalCalls = job.steps.reduce((a, s) => a + s.tool_calls, 0);
  assert.ok(totalCalls >= 4, `team_review made only ${totalCalls} tool calls`);
  const segs = await page.$$eval("#timeline .tool-seg", (els) => els.map((e) => e.dataset.tool));
  assert.equal(segs.length, totalCalls);
  assert.ok(segs.every((n) => n === "calculator"), segs.join());
  assert.equal(await page.$$eval("#timeline .tool-seg .pin", (els) => els.length), totalCalls);
  const rows = await page.$$eval("#timeline .tool-row", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.equal(rows.length, totalCalls);
  for (const r of rows) assert.match(r[4], /^\d+(\.\d+)? (ms|s)$/, `duration of ${r.join(" | ")}`);
  const lanes = await page.$$eval("#timeline .lane", (ls) =>
    ls.map((l) => ({ key: l.dataset.lane, calls: Number(l.dataset.calls), pauses: Number(l.dataset.pauses) })),
  );
  for (const s of job.steps) {
    const mine = lanes.filter((l) => l.key === s.id || l.key.startsWith(`${s.id} `));
    assert.equal(mine.reduce((a, l) => a + l.calls, 0), s.tool_calls, `step ${s.id}`);
    if (s.tool_calls > 0) assert.ok(mine.every((l) => l.pauses >= 1 && l.pauses <= l.calls), JSON.stringify(mine));
  }
  const outputs = await page.$eval("#outputs pre", (el) => el.textContent);
  assert.deepEqual(JSON.parse(outputs), job.outputs);
  const types = await page.$$eval("#events .ev", (els) => els.map((e) => e.dataset.type));
  assert.equal(types.at(-1), "job_finished");
  assert.equal(types.filter((t) => t === "tool_call").length, totalCalls);
  await shot("job");
  noProblems("job page");
});

test("the jobs list shows the job with its tokens and KV reuse", async () => {
  await page.goto(`${BASE_URL}/#/jobs`);
  await page.waitForSelector(`tr[data-job="${jobId}"]`);
  const job = await getJson(`/v1/jobs/${jobId}`);
  const cells = await page.$eval(`tr[data-job="${jobId}"]`, (tr) => [...tr.cells].map((c) => c.textContent.trim()));
  assert.equal(cells[2], "succeeded");
  const num = (s) => Number(s.replace(/,/g, ""));
  assert.equal(num(cells[5]), job.steps.reduce((a, s) => a + s.tokens, 0));
  assert.equal(num(cells[6]), job.steps.reduce((a, s) => a + s.kv_reused_tokens, 0));
  assert.ok(num(cells[6]) > 0, "team_review reuses the shared prefix");
  await page.select("#state-filter", "failed");
  await page.waitForFunction(() => location.hash === "#/jobs?state=failed");
  await page.waitForFunction(() => document.querySelector("#jobs-count")?.textContent.startsWith("0 job"));
  await page.select("#state-filter", "");
  await page.waitForSelector(`tr[data-job="${jobId}"]`);
  await shot("jobs");
  noProblems("jobs page");
});

test("the Engine page shows KV tiers, pins and charts from /metrics", async () => {
  await page.goto(`${BASE_URL}/#/engine`);
  // Two scrapes, so per-interval series have a point.
  await page.waitForFunction(() => document.querySelectorAll("#chart-pins .uplot").length === 1 && document.getElementById("view").dataset.ready === "metrics", { timeout: 20_000 });
  await new Promise((r) => setTimeout(r, 2500));
  const text = await (await fetch(`${BASE_URL}/metrics`, { headers: AUTH })).text();
  const value = (re) => Number(text.match(re)?.[1]);
  const created = value(/^agentrt:kv_pins_created_total\{model_name="tiny-calc"\} (\S+)$/m);
  const shown = await page.$eval('[data-metric="pins created"]', (el) => Number(el.textContent.replace(/,/g, "")));
  assert.equal(shown, created);
  const job = await getJson(`/v1/jobs/${jobId}`);
  const calls = job.steps.reduce((a, s) => a + s.tool_calls, 0);
  assert.ok(created >= 1 && created <= calls * 2 + 4, `pins created ${created} for ${calls} tool calls`);
  const device = await page.$$eval('#kv-tiers tr[data-tier="device"] td', (tds) => tds.map((t) => t.textContent));
  assert.equal(device[0], "device");
  const pool = ["free", "cached", "used", "pinned"].reduce(
    (a, s) => a + value(new RegExp(`^agentrt:kv_blocks\\{model_name="tiny-calc",tier="device",state="${s}"\\} (\\S+)$`, "m")),
    0,
  );
  const cells = device.slice(1, 5).map((s) => Number(s.replace(/,/g, "")));
  assert.equal(cells.reduce((a, b) => a + b, 0), pool);
  assert.equal(await page.$$eval(".uplot", (els) => els.length), 6);
  await shot("engine");
  noProblems("engine page");
});
