#!/usr/bin/env python3
"""Accuracy of kv_reuse blend against exact on tiny-calc workflows (issue 21), measured
THROUGH `agentrt run`: a team_review-style workflow (3 reviewers at temperature 0.7 with
fixed seeds solve the problem; a greedy checker reads all three reviewers' whole outputs,
then the problem, and answers: the problem sits at another offset than in the reviewers'
prompts, so only blend can reuse its KV). Under blend the runtime marks the problem (an
input document) and each reviewer's output of 16 tokens or more in the checker's prompt as
segments, and the engine places their KV from its segment cache, recomputing a fraction
of their tokens.

Each problem runs once per mode: exact, and blend at each --fractions value. The score is
the checker's answer against the problem's truth. The difference blend - exact is paired
(same problems, same seeds) and reported with a 95% confidence interval (normal
approximation to the paired differences' mean).

    python3 bench/kv_reuse_accuracy.py --problems 200 --ops 1 --jobs 2

With --serve every mode runs its problems as REST jobs on one `agentrt serve` of its own
(started and stopped here), so state the engine keeps across jobs carries from one problem
to the next, as in a long-lived server: the segment cache and, with --anchor-fractions
(blend with `--blend-anchors`), the anchor pool, which learns from the placements it
computes in full. Its counters (GET /metrics) are reported per mode.

    python3 bench/kv_reuse_accuracy.py --serve --problems 200 --ops 1 --jobs 2 \
        --fractions 0 --anchor-fractions 0,0.05,0.15
"""
import argparse
import concurrent.futures as cf
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models", "train"))
import problems as pg  # noqa: E402  (pure Python, no torch)

SYSTEM = ("You solve arithmetic word problems. Use the calculator tool for every operation, "
          "then give the final line as 'Answer: N'.")

WORKFLOW = """name: kv-reuse-team
kv_reuse: {mode}
{fraction}tools:
  calculator: {{ builtin: calculator }}
agents:
  reviewer_a: {{ system: "{system}", tools: [calculator], sampling: {{ temperature: 0.7, seed: 1, max_tokens: 160 }}, max_turns: 10 }}
  reviewer_b: {{ system: "{system}", tools: [calculator], sampling: {{ temperature: 0.7, seed: 2, max_tokens: 160 }}, max_turns: 10 }}
  reviewer_c: {{ system: "{system}", tools: [calculator], sampling: {{ temperature: 0.7, seed: 3, max_tokens: 160 }}, max_turns: 10 }}
  checker: {{ system: "{system}", tools: [calculator], sampling: {{ temperature: 0, max_tokens: 160 }}, max_turns: 10 }}
inputs:
  document: {{ type: string }}
steps:
  - {{ id: review_a, agent: reviewer_a, input: "{{{{ inputs.document }}}}" }}
  - {{ id: review_b, agent: reviewer_b, input: "{{{{ inputs.document }}}}" }}
  - {{ id: review_c, agent: reviewer_c, input: "{{{{ inputs.document }}}}" }}
  - id: check
    agent: checker
    after: [review_a, review_b, review_c]
    input: |-
      Proposed solutions:
      {{{{ steps.review_a.output }}}}
      {{{{ steps.review_b.output }}}}
      {{{{ steps.review_c.output }}}}
      Problem: {{{{ inputs.document }}}}
    extract: {{ answer: 'Answer: *(-?\\d+)' }}
outputs:
  answer: "{{{{ steps.check.answer | default(\\"none\\") }}}}"
"""


def workflow_file(mode, fraction, directory):
    text = WORKFLOW.format(mode=mode, system=SYSTEM,
                           fraction=f"blend_recompute: {fraction}\n" if fraction is not None
                           else "")
    name = f"team_{mode}_{fraction}.yaml"
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def as_int(a):
    try:
        return int(a)
    except (TypeError, ValueError):
        return None


def run(agentrt, path, question, threads):
    cmd = [agentrt, "run", path, "--json", "--quiet", "--threads", str(threads),
           "--input", f"document={question}"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr[-500:]}")
    out = json.loads(p.stdout)
    check = [s for s in out["steps"] if s["id"] == "check"][0]
    return {"answer": as_int(out["outputs"].get("answer")), "check_seconds": check["seconds"],
            "check_cached": check["cached_tokens"], "seconds": out["seconds"]}


class Server:
    """`agentrt serve` on a free port with its own data directory; jobs over REST."""

    def __init__(self, agentrt, data, threads, anchors, extra=()):
        self.log = open(os.path.join(data, "serve.log"), "wb")
        cmd = [agentrt, "serve", "--port", "0", "--data", os.path.join(data, "d"), "--threads",
               str(threads), "--max-queued-jobs", "1024", "--max-jobs-per-client", "1024"]
        if anchors:
            cmd.append("--blend-anchors")
        cmd += list(extra)
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=self.log)
        deadline = time.time() + 120
        self.port = None
        while self.port is None:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("agentrt serve did not start: " +
                                   open(self.log.name).read()[-2000:])
            m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", open(self.log.name).read())
            if m:
                self.port = int(m.group(1))
            time.sleep(0.05)

    def request(self, method, path, body=None):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            return json.loads(raw) if path != "/metrics" else raw.decode()

    def metrics(self, *prefixes):
        """The samples of families named prefix* for any of `prefixes` (one model), one
        scrape: name -> value."""
        names = "|".join(re.escape(p) for p in prefixes)
        out = {}
        for line in self.request("GET", "/metrics").splitlines():
            m = re.match(r"((?:" + names + r")[a-z_]*)(\{[^}]*\})? (\S+)$", line)
            if m:
                out[m.group(1)] = float(m.group(3))
        return out

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)
        self.log.close()


def run_job(server, yaml_text, question):
    job = server.request("POST", "/v1/jobs", {"yaml": yaml_text, "inputs": {"document": question}})
    while True:
        out = server.request("GET", f"/v1/jobs/{job['id']}")
        if out["state"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.05)
    if out["state"] != "succeeded":
        raise RuntimeError(f"job {job['id']}: {out['state']}: {out.get('error')}")
    check = [s for s in out["steps"] if s["id"] == "check"][0]
    return {"answer": as_int(out["outputs"].get("answer")), "check_seconds": check["elapsed"],
            "check_cached": check["kv_reused_tokens"], "check_tokens": check["tokens"],
            "tokens": sum(s["tokens"] for s in out["steps"])}


def paired_ci(a, b):
    """Mean of b - a (paired 0/1 scores) and its 95% normal-approximation interval."""
    d = [y - x for x, y in zip(a, b)]
    n = len(d)
    mean = sum(d) / n
    var = sum((x - mean) ** 2 for x in d) / max(1, n - 1)
    half = 1.96 * math.sqrt(var / n)
    return mean, mean - half, mean + half


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agentrt", default=os.path.join(ROOT, "build", "cli", "agentrt"))
    ap.add_argument("--problems", type=int, default=200)
    ap.add_argument("--ops", type=int, default=2, help="operations per problem (= distractors)")
    ap.add_argument("--fractions", default="0.05,0.15,0.3")
    ap.add_argument("--anchor-fractions", default="",
                    help="blend with --blend-anchors at these fractions (needs --serve)")
    ap.add_argument("--serve", action="store_true",
                    help="each mode's problems as REST jobs on one agentrt serve")
    ap.add_argument("--serve-args", default="",
                    help="more agentrt serve flags, e.g. '--blend-anchor-novelty 0.1'")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "kv_reuse_accuracy.json"))
    args = ap.parse_args()
    rng = random.Random(9_100_000 + args.ops)
    probs = [pg.generate(rng, args.ops, args.ops) for _ in range(args.problems)]
    if args.anchor_fractions and not args.serve:
        ap.error("--anchor-fractions needs --serve: the anchor pool lives in a server's RAM")
    split = lambda text: [float(f) for f in text.split(",") if f]  # noqa: E731
    modes = ([("exact", None, False)] + [("blend", f, False) for f in split(args.fractions)] +
             [("blend", f, True) for f in split(args.anchor_fractions)])
    t0 = time.time()
    report = {"problems": args.problems, "ops": args.ops, "modes": []}
    with tempfile.TemporaryDirectory() as d:
        for mode, frac, anchors in modes:
            path = workflow_file(mode, frac, d)
            t1 = time.time()
            counters = {}
            if args.serve:
                data = tempfile.mkdtemp(dir=d)
                server = Server(args.agentrt, data, args.threads, anchors,
                                args.serve_args.split())
                text = open(path).read()
                try:
                    with cf.ThreadPoolExecutor(args.jobs) as ex:
                        rows = list(ex.map(lambda p: run_job(server, text, p.text()), probs))
                    counters = server.metrics("agentrt:segment_", "agentrt:blend_anchor")
                finally:
                    server.stop()
            else:
                with cf.ThreadPoolExecutor(args.jobs) as ex:
                    rows = list(ex.map(lambda p: run(args.agentrt, path, p.text(), args.threads),
                                       probs))
            for r, p in zip(rows, probs):
                r["correct"] = int(r["answer"] == p.answer)
            acc = sum(r["correct"] for r in rows) / len(rows)
            report["modes"].append({"mode": mode, "blend_recompute": frac, "anchors": anchors,
                                    "accuracy": acc, "seconds": round(time.time() - t1, 1),
                                    "counters": counters, "rows": rows})
            print(f"{mode} {frac}{' anchors' if anchors else ''}: accuracy {acc:.3f} "
                  f"({time.time() - t1:.0f}s) {counters}", flush=True)
    exact = [r["correct"] for r in report["modes"][0]["rows"]]
    exact_answers = [r["answer"] for r in report["modes"][0]["rows"]]
    print("\n| mode | blend_recompute | anchors | checker accuracy | blend - exact (95% CI) | "
          "answers equal to exact's | exact solved, blend not / blend solved, exact not |"
          "\n| --- | --- | --- | --- | --- | --- | --- |")
    for m in report["modes"]:
        if m["mode"] == "exact":
            print(f"| exact | - | - | {100 * m['accuracy']:.1f}% | - | - | - |")
            continue
        got = [r["correct"] for r in m["rows"]]
        mean, lo, hi = paired_ci(exact, got)
        same = sum(r["answer"] == a for r, a in zip(m["rows"], exact_answers))
        lost = sum(e and not g for e, g in zip(exact, got))
        won = sum(g and not e for e, g in zip(exact, got))
        m["difference"] = {"mean": mean, "ci95": [lo, hi]}
        print(f"| blend | {m['blend_recompute']} | {'yes' if m['anchors'] else 'no'} | "
              f"{100 * m['accuracy']:.1f}% | {100 * mean:+.1f} pp [{100 * lo:+.1f}, "
              f"{100 * hi:+.1f}] | {same} / {len(got)} | {lost} / {won} |")
    report["seconds"] = round(time.time() - t0, 1)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"\n{report['seconds']} s in all; rows in {args.out}")


if __name__ == "__main__":
    main()
