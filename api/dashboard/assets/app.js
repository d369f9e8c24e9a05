// agentrt dashboard (docs/dashboard.md): a small vanilla-JS app over the REST API.
// Pages (hash routes): #/jobs, #/job/ID, #/engine. Data: GET /v1/jobs, /v1/jobs/ID,
// /v1/jobs/ID/graph, /v1/jobs/ID/events (SSE read with fetch, so it can send the API key),
// POST /v1/workflows/validate and /v1/jobs, GET /metrics (parsed here). The API key, if the
// server wants one, is kept in localStorage and sent as "Authorization: Bearer KEY".
// Every page throttles its rendering (at most a few frames a second) and polls only while
// the tab is visible.
"use strict";
(() => {
  const KEY_STORE = "agentrt.apiKey";
  const RENDER_MS = 250;
  const JOB_POLL_MS = 1000;
  const LIST_POLL_MS = 2000;
  const METRICS_POLL_MS = 2000;
  const METRICS_IDLE_POLL_MS = 10000;
  const HISTORY_POINTS = 300;
  const MAX_EVENT_LINES = 300;
  const view = document.getElementById("view");

  // ---- helpers ----------------------------------------------------------------------------
  const esc = (s) =>
    String(s ?? "").replace(/[&<>"']/g, (c) =>
      ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const fmtInt = (n) => (n == null || Number.isNaN(n) ? "–" : Math.round(n).toLocaleString("en-US"));
  const fmtNum = (n, d = 1) => (n == null || !Number.isFinite(n) ? "–" : n.toFixed(d));
  function fmtAge(ms) {
    const s = Math.max(0, ms / 1000);
    if (s < 60) return `${s.toFixed(0)}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${Math.floor(s % 60)}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
    return `${Math.floor(s / 86400)}d`;
  }
  const fmtMs = (ms) => (ms == null ? "–" : ms < 1000 ? `${ms.toFixed(ms < 10 ? 1 : 0)} ms` : `${(ms / 1000).toFixed(2)} s`);
  const fmtBytes = (b) =>
    b == null ? "–" : b < 1024 ? `${b} B` : b < 1 << 20 ? `${(b / 1024).toFixed(1)} KiB` : b < 1 << 30 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / (1 << 30)).toFixed(2)} GiB`;

  function authHeaders(extra = {}) {
    const h = { ...extra };
    const k = localStorage.getItem(KEY_STORE);
    if (k) h.Authorization = `Bearer ${k}`;
    return h;
  }

  const banner = document.getElementById("banner");
  function showBanner(text) {
    banner.textContent = text;
    banner.hidden = !text;
  }
  function setConn(ok) {
    const c = document.getElementById("conn");
    c.className = `conn ${ok ? "ok" : "bad"}`;
    c.title = ok ? "connected" : "not connected";
  }

  async function api(path, opts = {}) {
    let res;
    try {
      res = await fetch(path, { ...opts, headers: authHeaders(opts.headers) });
    } catch (e) {
      if (e.name === "AbortError") throw e;
      setConn(false);
      throw new Error(`${path}: the server does not answer`);
    }
    setConn(res.status !== 401 && res.status < 500);
    if (res.status === 401)
      showBanner("This server needs an API key: enter it above (it is kept in this browser only).");
    else if (banner.textContent.startsWith("This server needs")) showBanner("");
    return res;
  }
  async function apiJson(path, opts) {
    const res = await api(path, opts);
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    return { status: res.status, ok: res.ok, body };
  }

  // fn runs at most once per `ms`, on an animation frame; calls in between coalesce.
  function throttled(fn, ms) {
    let timer = null;
    let last = 0;
    let dead = false;
    const run = () => {
      timer = null;
      if (dead) return;
      last = performance.now();
      fn();
    };
    const f = () => {
      if (timer || dead) return;
      const wait = Math.max(0, last + ms - performance.now());
      timer = setTimeout(() => requestAnimationFrame(run), wait);
    };
    f.cancel = () => {
      dead = true;
      if (timer) clearTimeout(timer);
    };
    return f;
  }

  // Calls async fn every `ms` while the tab is visible; returns a stop function.
  function poller(fn, ms) {
    let stopped = false;
    let timer = null;
    const tick = async () => {
      if (stopped) return;
      if (!document.hidden) {
        try {
          if ((await fn()) === false) stopped = true;
        } catch (e) {
          if (!stopped) console.warn(e.message ?? e);
        }
      }
      if (!stopped) timer = setTimeout(tick, ms);
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  // ---- Server-Sent Events over fetch (EventSource cannot send Authorization) ---------------
  // Reads /v1/jobs/ID/events from event `after` on, calling onEvent({seq, type, data}) per
  // event; reconnects with Last-Event-ID until the job's stream ends or signal aborts.
  async function streamEvents(id, onEvent, signal, onEnd) {
    let after = 0;
    for (let attempt = 0; !signal.aborted; ++attempt) {
      try {
        const res = await api(`/v1/jobs/${encodeURIComponent(id)}/events`, {
          headers: after > 0 ? { "Last-Event-ID": String(after) } : {},
          signal,
        });
        if (!res.ok) throw new Error(`events: HTTP ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        let ended = false;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          const frames = buf.split("\n\n");
          buf = frames.pop();
          for (const frame of frames) {
            let seq = 0;
            let type = "message";
            let data = "";
            for (const line of frame.split("\n")) {
              if (line.startsWith("id:")) seq = Number(line.slice(3).trim());
              else if (line.startsWith("event:")) type = line.slice(6).trim();
              else if (line.startsWith("data:")) data += line.slice(5).trimStart();
            }
            if (!data) continue;  // a keep-alive comment
            after = Math.max(after, seq);
            let parsed;
            try {
              parsed = JSON.parse(data);
            } catch {
              parsed = { raw: data };
            }
            onEvent({ seq, type, data: parsed });
            if (type === "job_finished") ended = true;
          }
        }
        if (ended) break;
      } catch (e) {
        if (signal.aborted || e.name === "AbortError") return;
        console.warn(e.message ?? e);
      }
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * (attempt + 1))));
    }
    if (!signal.aborted && onEnd) onEnd();
  }

  // ---- Prometheus text (GET /metrics) --------------------------------------------------------
  function parseProm(text) {
    const out = new Map();
    for (const line of text.split("\n")) {
      if (!line || line[0] === "#") continue;
      const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/);
      if (!m) continue;
      const labels = {};
      if (m[2])
        for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
          labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
      const v = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
      if (!out.has(m[1])) out.set(m[1], []);
      out.get(m[1]).push({ labels, value: v });
    }
    return out;
  }
  function metric(families, name, labels = {}) {
    const f = families.get(name);
    if (!f) return null;
    let sum = 0;
    let seen = false;
    for (const s of f)
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) {
        sum += s.value;
        seen = true;
      }
    return seen ? sum : null;
  }

  // ---- Jobs page -----------------------------------------------------------------------------
  const STATES = ["queued", "running", "succeeded", "failed", "cancelled"];
  const jobSum = (job, field) => (job.steps ?? []).reduce((a, s) => a + (s[field] ?? 0), 0);

  function jobsPage(filter) {
    view.innerHTML = `
      <h1>Jobs</h1>
      <div class="row">
        <section class="panel" id="jobs-panel">
          <div class="filters">
            <label>State <select id="state-filter">
              <option value="">all</option>
              ${STATES.map((s) => `<option value="${s}"${s === filter ? " selected" : ""}>${s}</option>`).join("")}
            </select></label>
            <span class="muted" id="jobs-count"></span>
          </div>
          <table id="jobs-table">
            <thead><tr><th>Job</th><th>Workflow</th><th>State</th><th class="num">Age</th>
              <th class="num">Steps</th><th class="num">Tokens</th><th class="num">KV reused</th>
              <th class="num">Tool calls</th></tr></thead>
            <tbody></tbody>
          </table>
        </section>
        <section class="panel" id="submit-panel">
          <h2>Submit a workflow</h2>
          <form id="submit-form">
            <label class="muted" for="yaml">Workflow (YAML)</label>
            <textarea id="yaml" rows="18" spellcheck="false" placeholder="name: my-workflow&#10;agents: ...&#10;steps: ..."></textarea>
            <label class="muted" for="inputs">Inputs (a JSON object, optional)</label>
            <textarea id="inputs" rows="3" spellcheck="false" placeholder='{"question": "..."}'></textarea>
            <div style="margin-top:6px">
              <button type="button" id="validate">Validate</button>
              <button type="submit" class="primary" id="submit">Submit</button>
              <span id="submit-status"></span>
            </div>
            <ul class="diagnostics" id="diagnostics"></ul>
          </form>
        </section>
      </div>`;
    const tbody = view.querySelector("#jobs-table tbody");
    const count = view.querySelector("#jobs-count");
    let jobs = [];
    const render = throttled(() => {
      const now = Date.now();
      tbody.innerHTML = jobs
        .map((j) => {
          const done = (j.steps ?? []).filter((s) => s.state === "done").length;
          return `<tr data-job="${esc(j.id)}" data-state="${esc(j.state)}">
            <td class="mono"><a href="#/job/${encodeURIComponent(j.id)}">${esc(j.id)}</a></td>
            <td>${esc(j.workflow || "inline")}</td>
            <td><span class="badge ${esc(j.state)}">${esc(j.state)}</span></td>
            <td class="num">${fmtAge(now - j.created_ms)}</td>
            <td class="num">${done}/${(j.steps ?? []).length}</td>
            <td class="num">${fmtInt(jobSum(j, "tokens"))}</td>
            <td class="num">${fmtInt(jobSum(j, "kv_reused_tokens"))}</td>
            <td class="num">${fmtInt(jobSum(j, "tool_calls"))}</td></tr>`;
        })
        .join("");
      count.textContent = `${jobs.length} job(s)${jobs.length >= 200 ? " (the newest 200)" : ""}`;
    }, RENDER_MS);
    // Jobs come oldest first (id order; a cursor is the last id seen). Without a filter the
    // first poll reads up to 10 pages; later ones read only the jobs after the newest id seen
    // and refresh the unfinished ones shown (?state=running and ?state=queued, short lists by
    // the server's capacity, then each job that left them). With a filter: the filtered list
    // (up to 10 pages) on every poll for queued and running, every 5th for finished states.
    const shown = new Map();  // id -> job: the newest 200
    let maxId = "";
    let polls = 0;
    async function walk(state, from, pages) {
      let all = [];
      let cursor = from;
      for (let page = 0; page < pages; ++page) {
        const q = new URLSearchParams({ limit: "1000" });
        if (state) q.set("state", state);
        if (cursor) q.set("cursor", cursor);
        const r = await apiJson(`/v1/jobs?${q}`);
        if (!r.ok) return null;
        all = all.concat(r.body.jobs ?? []);
        if (!r.body.next_cursor) break;
        cursor = r.body.next_cursor;
      }
      return all;
    }
    const stop = poller(async () => {
      const n = polls++;
      if (filter) {
        if (!["queued", "running"].includes(filter) && n % 5 !== 0) return;
        const all = await walk(filter, "", 10);
        if (!all) return;
        shown.clear();
        for (const j of all.slice(-200)) shown.set(j.id, j);
      } else {
        const fresh = await walk("", maxId, 10);
        if (!fresh) return;
        for (const j of fresh) {
          shown.set(j.id, j);
          if (j.id > maxId) maxId = j.id;
        }
        const ids = [...shown.keys()].sort();
        for (const id of ids.slice(0, Math.max(0, ids.length - 200))) shown.delete(id);
        const open = [...shown.values()].filter((j) => j.state === "queued" || j.state === "running");
        if (open.length) {
          const live = new Map();
          for (const st of ["running", "queued"]) {
            const l = await walk(st, "", 1);
            if (!l) return;
            for (const j of l) live.set(j.id, j);
          }
          for (const j of open) {
            if (live.has(j.id)) shown.set(j.id, live.get(j.id));
            else {
              const r = await apiJson(`/v1/jobs/${encodeURIComponent(j.id)}`);
              if (r.ok) shown.set(j.id, r.body);
            }
          }
        }
      }
      jobs = [...shown.values()].sort((a, b) => (a.id < b.id ? 1 : -1));
      render();
    }, LIST_POLL_MS);
    view.querySelector("#state-filter").addEventListener("change", (e) => {
      location.hash = e.target.value ? `#/jobs?state=${e.target.value}` : "#/jobs";
    });
    setupSubmitForm();
    return { dispose: () => (stop(), render.cancel()) };
  }

  function setupSubmitForm() {
    const form = view.querySelector("#submit-form");
    const yamlBox = view.querySelector("#yaml");
    const inputsBox = view.querySelector("#inputs");
    const status = view.querySelector("#submit-status");
    const list = view.querySelector("#diagnostics");
    yamlBox.value = sessionStorage.getItem("agentrt.draftYaml") ?? "";
    yamlBox.addEventListener("input", () => sessionStorage.setItem("agentrt.draftYaml", yamlBox.value));

    const say = (text, ok) => {
      status.textContent = text;
      status.className = ok ? "ok-msg" : "err-msg";
    };
    // One item per diagnostic: "line L, column C" and the message, with the YAML line and a
    // caret under the column; a click puts the cursor there.
    function showDiagnostics(errors) {
      const lines = yamlBox.value.split("\n");
      list.innerHTML = errors
        .map((d) => {
          const where = d.line > 0 ? `line ${d.line}, column ${d.column}` : "workflow";
          const src = d.line > 0 && lines[d.line - 1] != null ? lines[d.line - 1] : null;
          const caret = src != null ? `\n${esc(src)}\n${" ".repeat(Math.max(0, d.column - 1))}^` : "";
          return `<li data-line="${d.line}" data-column="${d.column}"><span class="where">${where}</span>${esc(d.message)}${caret ? `<span class="src">${caret.slice(1)}</span>` : ""}</li>`;
        })
        .join("");
    }
    list.addEventListener("click", (e) => {
      const li = e.target.closest("li[data-line]");
      if (!li || Number(li.dataset.line) < 1) return;
      const lines = yamlBox.value.split("\n");
      let pos = 0;
      for (let i = 0; i < Number(li.dataset.line) - 1 && i < lines.length; ++i) pos += lines[i].length + 1;
      pos += Math.max(0, Number(li.dataset.column) - 1);
      yamlBox.focus();
      yamlBox.setSelectionRange(pos, pos + 1);
    });

    function readInputs() {
      const text = inputsBox.value.trim();
      if (!text) return {};
      const v = JSON.parse(text);
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
      return v;
    }
    // Validation first (200 with the diagnostics), so a mistake is shown without a failed
    // request; then the submission, whose 422 (inputs, models) is shown the same way.
    async function validate() {
      list.innerHTML = "";
      const r = await apiJson("/v1/workflows/validate", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ yaml: yamlBox.value }),
      });
      if (!r.ok) {
        say(r.body?.error?.message ?? `validation failed: HTTP ${r.status}`, false);
        return false;
      }
      if (!r.body.valid) {
        showDiagnostics(r.body.errors ?? []);
        say(`${(r.body.errors ?? []).length} problem(s)`, false);
        return false;
      }
      say("valid", true);
      return true;
    }
    view.querySelector("#validate").addEventListener("click", () => validate().catch((e) => say(e.message, false)));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = view.querySelector("#submit");
      button.disabled = true;
      try {
        let inputs;
        try {
          inputs = readInputs();
        } catch (err) {
          say(`inputs: ${err.message}`, false);
          return;
        }
        if (!(await validate())) return;
        const r = await apiJson("/v1/jobs", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ yaml: yamlBox.value, inputs }),
        });
        if (r.status === 201 || r.status === 200) {
          say(`submitted ${r.body.id}`, true);
          location.hash = `#/job/${encodeURIComponent(r.body.id)}`;
          return;
        }
        const err = r.body?.error ?? {};
        const diags = err.diagnostics ?? err.details?.diagnostics;
        if (Array.isArray(diags) && diags.length) showDiagnostics(diags);
        say(`${err.message ?? `HTTP ${r.status}`}${err.pointer ? ` (at ${err.pointer})` : ""}`, false);
      } catch (err) {
        say(err.message, false);
      } finally {
        button.disabled = false;
      }
    });
  }

  // ---- Job page ------------------------------------------------------------------------------
  // Lanes: one per agent run (step, map item or loop iteration, best-of sample), built from the
  // event log. A lane alternates generation and pinned pauses: the turn's KV stays pinned from
  // the first tool call of a turn until every call of the turn has answered (resume).
  function laneKey(d) {
    let k = d.step ?? "";
    if (d.unit != null && d.unit >= 0) k += ` [${d.unit}]`;
    if (d.sample != null && d.sample >= 0) k += ` #${d.sample}`;
    return k;
  }

  class JobModel {
    constructor() {
      this.events = [];
      this.lanes = new Map();
      this.stepStart = new Map();
      this.stepEnd = new Map();
      this.samples = new Map();  // step -> Map(sample -> {answer, tokens, finished, error})
      this.tools = [];  // {lane, name, start, end, duration, args, result}
      this.start = null;
      this.end = null;
      this.toolsVersion = 0;  // bumped by tool calls and results
      this.samplesVersion = 0;  // bumped by finished samples
    }
    lane(d, t) {
      const key = laneKey(d);
      let l = this.lanes.get(key);
      if (!l) {
        l = { key, step: d.step, start: this.stepStart.get(d.step) ?? t, end: null, segs: [], open: [], genFrom: null, pauses: 0, resumes: [] };
        l.genFrom = l.start;
        this.lanes.set(key, l);
      }
      return l;
    }
    closeLane(l, t) {
      if (l.end != null) return;
      if (l.genFrom != null && l.open.length === 0) l.segs.push({ kind: "gen", start: l.genFrom, end: t });
      l.end = t;
    }
    add(ev) {
      this.events.push(ev);
      const d = ev.data;
      const t = d.time_ms ?? Date.now();
      if (this.start == null) this.start = t;
      switch (ev.type) {
        case "step_started":
          this.stepStart.set(d.step, t);
          break;
        case "tool_call": {
          const l = this.lane(d, t);
          if (l.open.length === 0) {
            if (l.genFrom != null) l.segs.push({ kind: "gen", start: l.genFrom, end: t });
            l.genFrom = null;
            l.pauses += 1;
          }
          const call = { kind: "tool", lane: l.key, name: d.name, args: d.arguments, start: t, end: null, duration: null, row: l.open.length };
          l.open.push(call);
          l.segs.push(call);
          this.tools.push(call);
          this.toolsVersion += 1;
          break;
        }
        case "tool_result": {
          const l = this.lane(d, t);
          const i = l.open.findIndex((c) => c.name === d.name);
          const call = i >= 0 ? l.open.splice(i, 1)[0] : null;
          if (call) {
            call.end = t;
            call.duration = d.duration_ms ?? t - call.start;
            call.result = d.result;
          }
          this.toolsVersion += 1;
          if (l.open.length === 0) {
            l.genFrom = t;
            l.resumes.push(t);
          }
          break;
        }
        case "sample_finished": {
          this.closeLane(this.lane(d, t), t);
          if (!this.samples.has(d.step)) this.samples.set(d.step, new Map());
          this.samples.get(d.step).set(d.sample, { answer: d.answer, tokens: d.tokens, finished: d.finished, error: d.error });
          this.samplesVersion += 1;
          break;
        }
        case "unit_finished":
          this.closeLane(this.lane(d, t), t);
          break;
        case "step_finished":
          this.stepEnd.set(d.step, t);
          for (const l of this.lanes.values()) if (l.step === d.step) this.closeLane(l, t);
          break;
        case "job_finished":
          this.end = t;
          for (const l of this.lanes.values()) this.closeLane(l, t);
          break;
        default:
          break;
      }
    }
  }

  const STEP_COLORS = { waiting: "#9aa4b2", pending: "#9aa4b2", running: "#2563eb", done: "#16a34a", failed: "#dc2626", cancelled: "#a16207", skipped: "#c4c9d1" };

  function dagSvg(graph, job) {
    const byId = new Map((job?.steps ?? []).map((s) => [s.id, s]));
    const levels = [];
    for (const s of graph.steps) (levels[s.level] ??= []).push(s);
    const W = 190;
    const H = 54;
    const GX = 60;
    const GY = 16;
    const pos = new Map();
    levels.forEach((col, x) => col.forEach((s, y) => pos.set(s.id, { x: 10 + x * (W + GX), y: 10 + y * (H + GY) })));
    const width = 20 + levels.length * (W + GX) - GX;
    const height = 20 + Math.max(1, ...levels.map((c) => c.length)) * (H + GY) - GY;
    let edges = "";
    for (const s of graph.steps)
      for (const n of s.needs) {
        const a = pos.get(n);
        const b = pos.get(s.id);
        if (!a || !b) continue;
        const x1 = a.x + W;
        const y1 = a.y + H / 2;
        const x2 = b.x;
        const y2 = b.y + H / 2;
        edges += `<path class="edge" data-from="${esc(n)}" data-to="${esc(s.id)}" d="M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}" marker-end="url(#arrow)"/>`;
      }
    let nodes = "";
    for (const s of graph.steps) {
      const p = pos.get(s.id);
      const st = byId.get(s.id) ?? {};
      const state = st.state ?? "waiting";
      const kind = s.kind === "best_of" ? `best of ${s.best_of > 0 ? s.best_of : "n"}` : s.kind;
      const units = st.units_total > 1 ? ` · ${st.units_done}/${st.units_total}` : "";
      nodes += `<g class="node" data-step="${esc(s.id)}" data-state="${esc(state)}" transform="translate(${p.x},${p.y})">
        <title>${esc(s.id)}: ${esc(state)}, agent ${esc(s.agent)}, ${st.tokens ?? 0} tokens, ${st.tool_calls ?? 0} tool calls, ${st.kv_reused_tokens ?? 0} KV-reused tokens</title>
        <rect width="${W}" height="${H}" fill="${STEP_COLORS[state] ?? "#64748b"}"/>
        <text x="8" y="17" font-weight="600">${esc(s.id)}</text>
        <text class="sub" x="8" y="32">${esc(s.agent)} · ${esc(kind)} · ${esc(state)}${units}</text>
        <text class="sub" x="8" y="46">${fmtInt(st.tokens ?? 0)} tok · ${st.tool_calls ?? 0} calls · ${fmtInt(st.kv_reused_tokens ?? 0)} reused</text>
      </g>`;
    }
    return `<svg viewBox="0 0 ${width} ${height}" style="max-width:${width}px" height="${height}">
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#94a3b8"/></marker></defs>
      ${edges}${nodes}</svg>`;
  }

  function jobPage(id) {
    view.innerHTML = `
      <div id="job-head"><h1>Job <span class="mono">${esc(id)}</span></h1></div>
      <section class="panel dag" id="dag"><h2>Steps</h2><div class="body muted">loading…</div>
        <div class="legend">${Object.entries({ waiting: "waiting", running: "running", done: "done", failed: "failed", skipped: "skipped" })
          .map(([k, v]) => `<span><i style="background:${STEP_COLORS[k]}"></i>${v}</span>`).join("")}</div></section>
      <section class="panel timeline" id="timeline"><h2>Agents: turns and tool calls</h2>
        <div class="legend"><span><i style="background:var(--gen)"></i>generation</span>
          <span><i style="background:var(--tool)"></i>tool call (KV pinned)</span>
          <span><i style="background:var(--pin);border-radius:50%"></i>pin</span>
          <span><i style="background:#0f172a;width:2px"></i>resume</span></div>
        <div class="body"></div>
        <h2 style="margin-top:12px">Tool calls</h2><div class="tools-body"></div></section>
      <section class="panel" id="bestof" hidden><h2>Best-of samples</h2><div class="body"></div></section>
      <div class="row">
        <section class="panel" id="outputs"><h2>Outputs</h2><pre class="outputs">–</pre></section>
        <section class="panel" id="events-panel"><h2>Events <span class="muted" id="event-count"></span></h2><div class="events" id="events"></div></section>
      </div>`;
    const model = new JobModel();
    const abort = new AbortController();
    let job = null;
    let graph = null;
    let jobFinished = false;
    let streamEnded = false;
    let renderedEvents = 0;
    let toolsDrawn = -1;
    let samplesDrawn = -1;
    let graphDrawn = null;

    const head = view.querySelector("#job-head");
    const dagBody = view.querySelector("#dag .body");
    const laneBody = view.querySelector("#timeline .body");
    const toolsBody = view.querySelector("#timeline .tools-body");
    const bestPanel = view.querySelector("#bestof");
    const eventsBox = view.querySelector("#events");

    function renderHead() {
      if (!job) return;
      const elapsed = ((job.state === "running" || job.state === "queued" ? Date.now() : job.updated_ms) - job.created_ms);
      head.innerHTML = `<h1>Job <span class="mono">${esc(job.id)}</span>
        <span class="badge ${esc(job.state)}" id="job-state">${esc(job.state)}</span></h1>
        <p class="muted">${esc(job.workflow || graph?.name || "inline workflow")} · created ${new Date(job.created_ms).toLocaleString()} ·
        ${fmtAge(elapsed)} · ${fmtInt(jobSum(job, "tokens"))} tokens · ${fmtInt(jobSum(job, "kv_reused_tokens"))} KV-reused tokens ·
        ${fmtInt(jobSum(job, "tool_calls"))} tool calls${job.resumes ? ` · resumed ${job.resumes}×` : ""}
        ${job.state === "running" || job.state === "queued" ? ' <button id="cancel">Cancel</button>' : ""}</p>
        ${job.error ? `<p class="err-msg">${esc(job.error.message ?? JSON.stringify(job.error))}</p>` : ""}`;
      const c = head.querySelector("#cancel");
      if (c) c.addEventListener("click", () => api(`/v1/jobs/${encodeURIComponent(id)}`, { method: "DELETE" }).then(() => pollJob()));
    }

    function renderTimeline() {
      const lanes = [...model.lanes.values()];
      if (!lanes.length) {
        laneBody.innerHTML = '<p class="muted">no agent activity yet</p>';
        toolsBody.innerHTML = "";
        return;
      }
      const t0 = model.start ?? Math.min(...lanes.map((l) => l.start));
      const t1 = Math.max(model.end ?? (jobFinished ? 0 : Date.now()), ...lanes.map((l) => l.end ?? Date.now()), t0 + 1);
      const pct = (t) => (((t - t0) / (t1 - t0)) * 100).toFixed(3);
      const wid = (a, b) => Math.max(0.15, ((b - a) / (t1 - t0)) * 100).toFixed(3);
      const nowT = Date.now();
      // A plain agent or best-of step reports its run as unit 0: name it by the step alone.
      const kinds = new Map((graph?.steps ?? []).map((s) => [s.id, s.kind]));
      const laneName = (l) => (kinds.get(l.step) === "map" || kinds.get(l.step) === "loop" ? l.key : l.key.replace(/ \[0\]/, ""));
      laneBody.innerHTML = lanes
        .map((l) => {
          const segs = l.segs
            .map((s) => {
              const end = s.end ?? nowT;
              if (s.kind === "gen") return `<div class="seg gen" style="left:${pct(s.start)}%;width:${wid(s.start, end)}%" title="generation ${fmtMs(end - s.start)}"></div>`;
              const top = s.row > 0 ? "top:6px;height:10px;" : "";
              return `<div class="seg tool tool-seg" data-tool="${esc(s.name)}" style="${top}left:${pct(s.start)}%;width:${wid(s.start, end)}%" title="${esc(s.name)} ${esc(JSON.stringify(s.args ?? {}))}: ${s.duration != null ? fmtMs(s.duration) : "running"} (KV pinned)"><span class="pin" title="KV pinned"></span></div>`;
            })
            .join("");
          const open = l.genFrom != null && l.end == null ? `<div class="seg gen" style="left:${pct(l.genFrom)}%;width:${wid(l.genFrom, nowT)}%"></div>` : "";
          const resumes = l.resumes.map((t) => `<div class="resume" style="left:${pct(t)}%" title="resume"></div>`).join("");
          const calls = l.segs.filter((s) => s.kind === "tool").length;
          return `<div class="lane" data-lane="${esc(l.key)}" data-calls="${calls}" data-pauses="${l.pauses}">
            <div class="lane-name" title="${esc(l.key)}">${esc(laneName(l))}</div>
            <div class="track">${segs}${open}${resumes}</div>
            <div class="lane-stats">${calls} call(s) · ${l.pauses} pause(s)</div></div>`;
        })
        .join("");
      const tools = model.tools;
      if (toolsDrawn === model.toolsVersion && tools.length) return;
      toolsDrawn = model.toolsVersion;
      toolsBody.innerHTML = tools.length
        ? `<table class="tool-table"><thead><tr><th>Agent run</th><th>Tool</th><th>Arguments</th><th>Result</th><th class="num">Duration</th></tr></thead><tbody>
          ${tools.slice(-200).map((c) => `<tr class="tool-row" data-tool="${esc(c.name)}"><td>${esc(laneName(model.lanes.get(c.lane)))}</td><td>${esc(c.name)}</td>
            <td class="mono">${esc(JSON.stringify(c.args ?? {}))}</td><td class="mono">${esc(c.result ?? "…")}</td>
            <td class="num">${c.duration != null ? fmtMs(c.duration) : "running"}</td></tr>`).join("")}</tbody></table>
          ${tools.length > 200 ? `<p class="muted">the last 200 of ${tools.length} calls</p>` : ""}`
        : '<p class="muted">no tool calls</p>';
    }

    function renderBestOf() {
      if (samplesDrawn === model.samplesVersion && graph === graphDrawn) return;
      samplesDrawn = model.samplesVersion;
      graphDrawn = graph;
      const steps = (graph?.steps ?? []).filter((s) => s.kind === "best_of" || model.samples.has(s.id));
      if (!steps.length) {
        bestPanel.hidden = true;
        return;
      }
      bestPanel.hidden = false;
      bestPanel.querySelector(".body").innerHTML = steps
        .map((s) => {
          const got = model.samples.get(s.id) ?? new Map();
          const n = Math.max(s.best_of || 0, got.size);
          const tally = new Map();
          for (const v of got.values()) if (v.finished && v.answer != null) tally.set(v.answer, (tally.get(v.answer) ?? 0) + 1);
          const ranked = [...tally.entries()].sort((a, b) => b[1] - a[1]);
          const winner = ranked.length ? ranked[0][0] : null;
          const cells = [];
          for (let i = 0; i < n; ++i) {
            const v = got.get(i);
            const cls = !v ? "" : v.error ? "failed" : "finished";
            const win = v && winner != null && v.answer === winner ? " winner" : "";
            cells.push(`<div class="sample ${cls}${win}" data-sample="${i}"><b>#${i}</b> ${v ? esc(v.answer ?? "(no answer)") : '<span class="muted">running…</span>'}
              ${v ? `<span class="muted"> · ${v.tokens} tok</span>` : ""}</div>`);
          }
          return `<h2>${esc(s.id)} <span class="muted">${got.size}/${n} samples</span></h2>
            <div class="vote">vote: ${ranked.map(([a, c], i) => (i === 0 ? `<b>${esc(a)} × ${c}</b>` : `${esc(a)} × ${c}`)).join(", ") || "–"}</div>
            <div class="samples">${cells.join("")}</div>`;
        })
        .join("");
    }

    function renderEvents() {
      const evs = model.events;
      view.querySelector("#event-count").textContent = `${evs.length}${streamEnded ? " (stream ended)" : " (live)"}`;
      if (renderedEvents === evs.length) return;
      const atBottom = eventsBox.scrollTop + eventsBox.clientHeight >= eventsBox.scrollHeight - 4;
      const from = Math.max(renderedEvents, evs.length - MAX_EVENT_LINES);
      const frag = document.createDocumentFragment();
      for (let i = from; i < evs.length; ++i) {
        const e = evs[i];
        const { type, time_ms, ...rest } = e.data;
        const div = document.createElement("div");
        div.className = "ev";
        div.dataset.type = e.type;
        div.innerHTML = `<span class="t">${e.seq} ${new Date(time_ms ?? Date.now()).toISOString().slice(11, 23)} ${esc(e.type)}</span> ${esc(JSON.stringify(rest))}`;
        frag.appendChild(div);
      }
      eventsBox.appendChild(frag);
      while (eventsBox.childElementCount > MAX_EVENT_LINES) eventsBox.firstElementChild.remove();
      renderedEvents = evs.length;
      if (atBottom) eventsBox.scrollTop = eventsBox.scrollHeight;
    }

    // Only what changed is drawn again: the job's JSON (head, DAG, outputs), the events
    // (lanes, samples, event list); running lanes grow at most once a second without events.
    const dirty = { job: false, events: false };
    let lastLanes = 0;
    const render = throttled(() => {
      if (dirty.job) {
        renderHead();
        if (graph) dagBody.innerHTML = dagSvg(graph, job);
        if (job) view.querySelector("#outputs pre").textContent = job.outputs && Object.keys(job.outputs).length ? JSON.stringify(job.outputs, null, 2) : "–";
      }
      const tick = !jobFinished && performance.now() - lastLanes > 1000;
      if (dirty.events || dirty.job || tick) {
        renderTimeline();
        lastLanes = performance.now();
      }
      if (dirty.events || dirty.job) renderBestOf();
      if (dirty.events) renderEvents();
      dirty.job = dirty.events = false;
      view.dataset.ready = jobFinished && streamEnded ? "finished" : "live";
    }, RENDER_MS);
    const ticker = setInterval(() => !jobFinished && render(), 1000);

    async function pollJob() {
      const r = await apiJson(`/v1/jobs/${encodeURIComponent(id)}`);
      if (r.status === 404) {
        head.innerHTML = `<h1>No job <span class="mono">${esc(id)}</span></h1>`;
        return false;
      }
      if (!r.ok) return true;
      job = r.body;
      dirty.job = true;
      jobFinished = !["queued", "running"].includes(job.state);
      if (!graph) {
        const g = await apiJson(`/v1/jobs/${encodeURIComponent(id)}/graph`);
        if (g.ok) {
          graph = g.body;
          toolsDrawn = -1;  // lane names depend on the step kinds
        }
        else dagBody.textContent = g.body?.error?.message ?? "no step graph";
      }
      render();
      return !jobFinished;
    }
    const stopPoll = poller(pollJob, JOB_POLL_MS);
    streamEvents(id, (ev) => {
      model.add(ev);
      dirty.events = true;
      if (ev.type === "step_finished" || ev.type === "step_started" || ev.type === "job_finished") pollJob().catch(() => {});
      render();
    }, abort.signal, () => {
      streamEnded = true;
      dirty.events = true;
      render();
    });
    return { dispose: () => (abort.abort(), stopPoll(), render.cancel(), clearInterval(ticker)) };
  }

  // ---- Engine page ---------------------------------------------------------------------------
  const history = [];  // snapshots kept across visits to the page: {t, model -> values}

  // /metrics scraped for the whole app, so the Engine page opens with a history: every 2 s
  // while the Engine page listens, every 10 s otherwise (never while the tab is hidden).
  const metricsFeed = (() => {
    const listeners = new Set();
    let stop = null;
    async function scrape() {
      const res = await api("/metrics");
      if (!res.ok) return true;
      history.push(snapshot(parseProm(await res.text())));
      if (history.length > HISTORY_POINTS) history.splice(0, history.length - HISTORY_POINTS);
      for (const f of listeners) f();
      return true;
    }
    function restart() {
      if (stop) stop();
      stop = poller(scrape, listeners.size ? METRICS_POLL_MS : METRICS_IDLE_POLL_MS);
    }
    return {
      start: () => stop || restart(),
      subscribe(f) {
        listeners.add(f);
        restart();
        return () => {
          listeners.delete(f);
          restart();
        };
      },
    };
  })();

  function snapshot(families) {
    const models = new Set();
    for (const s of families.get("agentrt:kv_blocks") ?? []) models.add(s.labels.model_name);
    for (const s of families.get("vllm:num_requests_running") ?? []) models.add(s.labels.model_name);
    const per = {};
    for (const m of models) {
      const L = { model_name: m };
      const g = (n, extra = {}) => metric(families, n, { ...L, ...extra });
      per[m] = {
        running: g("vllm:num_requests_running"), waiting: g("vllm:num_requests_waiting"), paused: g("agentrt:num_requests_paused"),
        pinsActive: g("agentrt:kv_pins_active"), pinsCreated: g("agentrt:kv_pins_created_total"),
        pinsExpired: g("agentrt:kv_pins_expired_total"), pinsRevoked: g("agentrt:kv_pins_revoked_total"),
        hits: g("vllm:prefix_cache_hits_total"), queries: g("vllm:prefix_cache_queries_total"),
        decoded: g("agentrt:engine_decoded_tokens_total"), prefilled: g("agentrt:engine_prefilled_tokens_total"),
        ttftSum: g("vllm:time_to_first_token_seconds_sum"), ttftCount: g("vllm:time_to_first_token_seconds_count"),
        tpotSum: g("vllm:time_per_output_token_seconds_sum"), tpotCount: g("vllm:time_per_output_token_seconds_count"),
        free: g("agentrt:kv_blocks", { tier: "device", state: "free" }), cached: g("agentrt:kv_blocks", { tier: "device", state: "cached" }),
        used: g("agentrt:kv_blocks", { tier: "device", state: "used" }), pinned: g("agentrt:kv_blocks", { tier: "device", state: "pinned" }),
        blockBytes: g("agentrt:kv_block_bytes"),
        deviceBytes: g("agentrt:kv_tier_bytes", { tier: "device" }), hostBytes: g("agentrt:kv_tier_bytes", { tier: "host" }),
        storeBytes: g("agentrt:kv_tier_bytes", { tier: "store" }),
        hitDevice: g("agentrt:prefix_cache_hit_tokens_total", { tier: "device" }), hitHost: g("agentrt:prefix_cache_hit_tokens_total", { tier: "host" }),
        hitStore: g("agentrt:prefix_cache_hit_tokens_total", { tier: "store" }),
        evictions: g("agentrt:kv_evictions_total"), offloaded: g("agentrt:kv_offloaded_blocks_total"), persisted: g("agentrt:kv_persisted_blocks_total"),
        preemptions: g("vllm:num_preemptions_total"),
      };
    }
    return { t: Date.now() / 1000, per, sessionPins: metric(families, "agentrt:session_pins_active"), jobs: Object.fromEntries(STATES.map((s) => [s, metric(families, "agentrt:jobs", { state: s })])) };
  }

  // Per-interval values between consecutive snapshots of one model.
  function derived(model) {
    const xs = [];
    const out = { running: [], waiting: [], paused: [], pinsActive: [], expired: [], revoked: [], created: [], decode: [], prefill: [], hit: [], ttft: [], tpot: [], free: [], cached: [], used: [], pinned: [] };
    for (let i = 0; i < history.length; ++i) {
      const cur = history[i].per[model];
      if (!cur) continue;
      const prev = i > 0 ? history[i - 1].per[model] : null;
      const dt = i > 0 ? history[i].t - history[i - 1].t : 0;
      const d = (k) => (prev && cur[k] != null && prev[k] != null ? cur[k] - prev[k] : null);
      const ratio = (a, b) => (a != null && b != null && b > 0 ? a / b : null);
      xs.push(history[i].t);
      out.running.push(cur.running); out.waiting.push(cur.waiting); out.paused.push(cur.paused);
      out.pinsActive.push(cur.pinsActive); out.expired.push(d("pinsExpired")); out.revoked.push(d("pinsRevoked")); out.created.push(d("pinsCreated"));
      out.decode.push(dt > 0 && d("decoded") != null ? d("decoded") / dt : null);
      out.prefill.push(dt > 0 && d("prefilled") != null ? d("prefilled") / dt : null);
      const hr = ratio(d("hits"), d("queries"));
      out.hit.push(hr == null ? null : hr * 100);
      const tt = ratio(d("ttftSum"), d("ttftCount"));
      out.ttft.push(tt == null ? null : tt * 1000);
      const tp = ratio(d("tpotSum"), d("tpotCount"));
      out.tpot.push(tp == null ? null : tp * 1000);
      out.free.push(cur.free); out.cached.push(cur.cached); out.used.push(cur.used); out.pinned.push(cur.pinned);
    }
    return { xs, out };
  }

  const CHARTS = [
    { id: "requests", title: "Requests", series: [["running", "running", "#2563eb"], ["waiting", "waiting", "#f59e0b"], ["paused", "paused (tool calls)", "#7c3aed"]] },
    { id: "pins", title: "KV pins", series: [["pinsActive", "active", "#7c3aed"], ["created", "created / interval", "#16a34a"], ["expired", "expired / interval", "#f59e0b"], ["revoked", "revoked / interval", "#dc2626"]] },
    { id: "kv", title: "Device KV blocks", series: [["free", "free", "#9ca3af"], ["cached", "cached", "#93c5fd"], ["used", "used", "#2563eb"], ["pinned", "pinned", "#7c3aed"]] },
    { id: "throughput", title: "Tokens/s", series: [["decode", "decode tok/s", "#2563eb"], ["prefill", "prefill tok/s", "#16a34a"]] },
    { id: "latency", title: "TTFT and TPOT (OpenAI API requests, mean per interval, ms)", series: [["ttft", "TTFT ms", "#dc2626"], ["tpot", "TPOT ms", "#2563eb"]] },
    { id: "hitrate", title: "Prefix hit rate (% of queried prompt tokens)", series: [["hit", "hit rate %", "#16a34a"]] },
  ];

  function enginePage() {
    view.innerHTML = `
      <h1>Engine <select id="model-select"></select></h1>
      <div class="cards" id="cards"></div>
      <section class="panel" id="kv-tiers"><h2>KV blocks by tier and state</h2><div class="body muted">loading…</div></section>
      <div class="row">${CHARTS.map((c) => `<section class="panel"><h2>${esc(c.title)}</h2><div class="chart" id="chart-${c.id}"></div></section>`).join("")}</div>`;
    const select = view.querySelector("#model-select");
    let model = null;
    let plots = new Map();

    function makePlots() {
      for (const p of plots.values()) p.destroy();
      plots = new Map();
      if (typeof uPlot !== "function") return;
      for (const c of CHARTS) {
        const el = view.querySelector(`#chart-${c.id}`);
        const width = Math.max(300, el.clientWidth || 400);
        const opts = {
          width, height: 180,
          series: [{}, ...c.series.map(([, label, color]) => ({ label, stroke: color, width: 1.5, spanGaps: false }))],
          axes: [{}, { size: 50 }],
          scales: { x: { time: true } },
          legend: { live: false },
        };
        plots.set(c.id, new uPlot(opts, [[], ...c.series.map(() => [])], el));
      }
    }

    function renderCards(cur, prevSnap, snap) {
      const c = (k, v, title = "") => `<div class="card" title="${esc(title)}"><div class="v" data-metric="${esc(k)}">${v}</div><div class="k">${esc(k)}</div></div>`;
      const hr = cur.queries > 0 ? (cur.hits / cur.queries) * 100 : null;
      const prev = prevSnap?.per[model];
      const dt = prevSnap ? snap.t - prevSnap.t : 0;
      const tps = prev && dt > 0 ? (cur.decoded - prev.decoded) / dt : null;
      view.querySelector("#cards").innerHTML = [
        c("running", fmtInt(cur.running)), c("waiting", fmtInt(cur.waiting)), c("paused for tools", fmtInt(cur.paused)),
        c("pins active", fmtInt(cur.pinsActive)), c("pins created", fmtInt(cur.pinsCreated)), c("pins expired", fmtInt(cur.pinsExpired)),
        c("pins revoked", fmtInt(cur.pinsRevoked)), c("prefix hit rate", hr == null ? "–" : `${hr.toFixed(1)}%`, "cached / queried prompt tokens since start"),
        c("decode tok/s", fmtNum(tps)), c("tokens decoded", fmtInt(cur.decoded)), c("evictions", fmtInt(cur.evictions)),
        c("session pins", fmtInt(snap.sessionPins)),
        c("jobs running", fmtInt(snap.jobs.running)), c("jobs queued", fmtInt(snap.jobs.queued)),
      ].join("");
    }

    function renderTiers(cur) {
      const total = (cur.free ?? 0) + (cur.cached ?? 0) + (cur.used ?? 0) + (cur.pinned ?? 0);
      const bar = ["free", "cached", "used", "pinned"].map((s) => `<div class="kv-${s}" style="width:${total ? ((cur[s] ?? 0) / total) * 100 : 0}%" title="${s}: ${cur[s]}"></div>`).join("");
      const blocks = (bytes) => (bytes != null && cur.blockBytes > 0 ? Math.round(bytes / cur.blockBytes) : null);
      const row = (tier, free, cached, used, pinned, bytes, hit) =>
        `<tr data-tier="${tier}"><td>${tier}</td><td class="num">${fmtInt(free)}</td><td class="num">${fmtInt(cached)}</td><td class="num">${fmtInt(used)}</td>
         <td class="num" data-pinned="${pinned ?? ""}">${fmtInt(pinned)}</td><td class="num">${fmtBytes(bytes)}</td><td class="num">${fmtInt(hit)}</td></tr>`;
      view.querySelector("#kv-tiers .body").className = "body";
      view.querySelector("#kv-tiers .body").innerHTML = `<div class="kvbar">${bar}</div>
        <div class="legend"><span><i class="kv-free"></i>free</span><span><i class="kv-cached"></i>cached</span><span><i class="kv-used"></i>used</span><span><i class="kv-pinned"></i>pinned</span></div>
        <table><thead><tr><th>Tier</th><th class="num">Free</th><th class="num">Cached</th><th class="num">Used</th><th class="num">Pinned</th><th class="num">Bytes</th><th class="num">Prefix-hit tokens</th></tr></thead><tbody>
        ${row("device", cur.free, cur.cached, cur.used, cur.pinned, cur.deviceBytes, cur.hitDevice)}
        ${cur.hostBytes != null ? row("host", null, blocks(cur.hostBytes), null, null, cur.hostBytes, cur.hitHost) : ""}
        ${cur.storeBytes != null ? row("store", null, blocks(cur.storeBytes), null, null, cur.storeBytes, cur.hitStore) : ""}
        </tbody></table>
        <p class="muted">Device blocks by state (${fmtInt(total)} in the pool, ${fmtBytes(cur.blockBytes)} each). The host and store tiers hold copies of evicted or persisted blocks: their size is shown in device-block equivalents.</p>`;
    }

    const render = throttled(() => {
      if (!history.length) return;
      const snap = history[history.length - 1];
      const models = Object.keys(snap.per);
      if (!model || !snap.per[model]) model = models[0] ?? null;
      const opts = models.map((m) => `<option${m === model ? " selected" : ""}>${esc(m)}</option>`).join("");
      if (select.innerHTML !== opts) select.innerHTML = opts;
      if (!model) return;
      const cur = snap.per[model];
      renderCards(cur, history.length > 1 ? history[history.length - 2] : null, snap);
      renderTiers(cur);
      if (!plots.size) makePlots();
      const { xs, out } = derived(model);
      for (const c of CHARTS) {
        const p = plots.get(c.id);
        if (p) p.setData([xs, ...c.series.map(([k]) => out[k])]);
      }
      view.dataset.ready = "metrics";
    }, RENDER_MS);

    select.addEventListener("change", () => {
      model = select.value;
      render();
    });
    const stop = metricsFeed.subscribe(render);
    const onResize = throttled(() => {
      makePlots();
      render();
    }, 500);
    window.addEventListener("resize", onResize);
    return {
      dispose: () => {
        stop();
        render.cancel();
        onResize.cancel();
        window.removeEventListener("resize", onResize);
        for (const p of plots.values()) p.destroy();
      },
    };
  }

  // ---- router and key form -------------------------------------------------------------------
  let current = null;
  function route() {
    if (current) current.dispose();
    current = null;
    delete view.dataset.ready;
    const h = location.hash || "#/jobs";
    let m;
    for (const a of document.querySelectorAll("header nav a"))
      a.classList.toggle("active", h.startsWith(`#/${a.dataset.nav}`) || (a.dataset.nav === "jobs" && h.startsWith("#/job/")));
    if ((m = h.match(/^#\/job\/([A-Za-z0-9_-]{1,64})/))) current = jobPage(m[1]);
    else if (h.startsWith("#/engine")) current = enginePage();
    else {
      const state = new URLSearchParams(h.split("?")[1] ?? "").get("state");
      current = jobsPage(STATES.includes(state) ? state : "");
    }
  }
  const keyInput = document.getElementById("api-key");
  keyInput.value = localStorage.getItem(KEY_STORE) ?? "";
  document.getElementById("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const k = keyInput.value.trim();
    if (k) localStorage.setItem(KEY_STORE, k);
    else localStorage.removeItem(KEY_STORE);
    showBanner("");
    route();
  });
  window.addEventListener("hashchange", route);
  route();
  metricsFeed.start();
})();
