// Makes the screenshots of docs/dashboard.md (docs/img/dashboard-*.png) against a running
// `agentrt serve` on tiny-calc without API keys: it keeps the Engine page open while
// team_review (twice) and best_of_majority (n=16) run, then shoots each page.
// Usage: AGENTRT_URL=http://127.0.0.1:8080 node tests/dashboard/doc_screenshots.mjs OUT_DIR
import { readFileSync } from "node:fs";
import { join } from "node:path";

import puppeteer from "puppeteer-core";

const BASE_URL = process.env.AGENTRT_URL ?? "http://127.0.0.1:8080";
const OUT = process.argv[2] ?? ".";
const SRC = new URL("../..", import.meta.url).pathname;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function submit(file, inputs = {}) {
  const yaml = readFileSync(join(SRC, "workflows/examples", file), "utf8");
  const res = await fetch(`${BASE_URL}/v1/jobs`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ yaml, inputs }),
  });
  return (await res.json()).id;
}

async function finished(id) {
  for (;;) {
    const j = await (await fetch(`${BASE_URL}/v1/jobs/${id}`)).json();
    if (!["queued", "running"].includes(j.state)) return j;
    await sleep(500);
  }
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const engine = await browser.newPage();
await engine.setViewport({ width: 1100, height: 900 });
await engine.goto(`${BASE_URL}/#/engine`);
await sleep(4000);
const team = await submit("team_review.yaml");
const best = await submit("best_of_majority.yaml", { n: 16 });
await sleep(1500);
const team2 = await submit("team_review.yaml");
await finished(team);
await finished(best);
await finished(team2);
await sleep(5000);
await engine.screenshot({ path: join(OUT, "dashboard-engine.png") });

const page = await browser.newPage();
await page.setViewport({ width: 1100, height: 800 });
await page.goto(`${BASE_URL}/#/job/${team}`);
await page.waitForFunction(() => document.getElementById("view").dataset.ready === "finished");
await page.screenshot({ path: join(OUT, "dashboard-job.png") });
await page.goto(`${BASE_URL}/#/job/${best}`);
await page.waitForFunction(() => document.getElementById("view").dataset.ready === "finished");
await page.$eval("#bestof", (el) => el.scrollIntoView());
await page.screenshot({ path: join(OUT, "dashboard-best-of.png") });
await page.goto(`${BASE_URL}/#/jobs`);
await page.waitForSelector(`tr[data-job="${team}"]`);
await page.$eval("#yaml", (el) => {
  el.value = "name: broken\nagents:\n  solver: { system: hi }\nsteps:\n  - id: a\n    agent: nobody\n    input: hi\n";
  el.dispatchEvent(new Event("input", { bubbles: true }));
});
await page.click("#submit");
await page.waitForSelector("#diagnostics li");
await page.screenshot({ path: join(OUT, "dashboard-jobs.png") });
await browser.close();
