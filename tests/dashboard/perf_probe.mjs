// Measures the main thread's long tasks (> 50 ms) of one dashboard page while several best-of
// jobs of 64 samples run (one tab only: a hidden tab neither polls nor renders). Prints the
// longest task and the total blocked time.
// Usage: AGENTRT_URL=... node tests/dashboard/perf_probe.mjs [job|engine|jobs] [jobs] [n]
import { readFileSync } from "node:fs";
import { join } from "node:path";

import puppeteer from "puppeteer-core";

const BASE_URL = process.env.AGENTRT_URL ?? "http://127.0.0.1:8080";
const SRC = new URL("../..", import.meta.url).pathname;
const PAGE = process.argv[2] ?? "job";
const JOBS = Number(process.argv[3] ?? 3);
const N = Number(process.argv[4] ?? 64);
const yaml = readFileSync(join(SRC, "workflows/examples/best_of_majority.yaml"), "utf8");
const ids = [];
for (let i = 0; i < JOBS; ++i) {
  const r = await fetch(`${BASE_URL}/v1/jobs`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ yaml, inputs: { n: N } }),
  });
  ids.push((await r.json()).id);
}
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const probe = () => {
  window.__long = [];
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      window.__long.push(e.duration);
      (window.__at ??= []).push(`${Math.round(e.startTime)}:${Math.round(e.duration)}`);
    }
  }).observe({ type: "longtask", buffered: true });
};
const pages = [];
for (const hash of [PAGE === "job" ? `#/job/${ids[0]}` : `#/${PAGE}`]) {
  const p = await browser.newPage();
  await p.evaluateOnNewDocument(probe);
  await p.goto(`${BASE_URL}/${hash}`);
  pages.push([hash, p]);
}
const t0 = Date.now();
for (;;) {
  const states = await Promise.all(ids.map(async (id) => (await (await fetch(`${BASE_URL}/v1/jobs/${id}`)).json()).state));
  if (states.every((s) => !["queued", "running"].includes(s))) break;
  await new Promise((r) => setTimeout(r, 500));
}
await new Promise((r) => setTimeout(r, 1500));
for (const [hash, p] of pages) {
  const long = await p.evaluate(() => window.__long);
  const blocked = long.reduce((a, d) => a + Math.max(0, d - 50), 0);
  console.log(`${hash}: long tasks (start ms:duration ms) ${await p.evaluate(() => (window.__at ?? []).join(" "))}`);
  console.log(`${hash}: ${long.length} long tasks, longest ${Math.max(0, ...long).toFixed(0)} ms, blocked ${blocked.toFixed(0)} ms over ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
if (PAGE === "job") {
  const lanes = await pages[0][1].$$eval("#timeline .lane", (ls) => ls.length);
  const samples = await pages[0][1].$$eval(".sample.finished", (ls) => ls.length);
  console.log(`job page: ${lanes} lanes, ${samples} finished samples`);
}
await browser.close();
