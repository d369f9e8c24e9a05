#!/usr/bin/env python3
"""Fan-in TTFT under kv_reuse exact and blend (issue 21), measured THROUGH `agentrt run`
with tiny-calc on the CPU: N reviewers (a map step) each solve one problem; then two
checkers, one after the other, each with its own system prompt, read all N problems and
all N reviewers' outputs. The checkers generate one token, so a checker step's time (what
the runtime reports per step) is its time to first token: queueing is nil (it runs alone)
and the rest is the prefill of its prompt. The first checker finds the segments in no
other checker's prompt; the second may take their KV from the first (and from the
reviewers' prompts, where each problem was computed at another offset).

    python3 bench/fan_in_bench.py --n 4,16,64 --repeats 3
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models", "train"))
import problems as pg  # noqa: E402

SYSTEM = ("You solve arithmetic word problems. Use the calculator tool for every operation, "
          "then give the final line as 'Answer: N'.")

WORKFLOW = """name: fan-in
kv_reuse: {mode}
tools:
  calculator: {{ builtin: calculator }}
agents:
  reviewer: {{ system: "{system}", tools: [calculator], sampling: {{ temperature: 0, max_tokens: 96 }}, max_turns: 4 }}
  checker1: {{ system: "You check the proposed answers below and reply with the right one.", sampling: {{ temperature: 0, max_tokens: 1 }} }}
  checker2: {{ system: "Read every problem and proposed solution, then say which are wrong.", sampling: {{ temperature: 0, max_tokens: 1 }} }}
inputs:
  problems: {{ type: list }}
steps:
  - id: review
    agent: reviewer
    map: {{ over: "{{{{ inputs.problems }}}}", as: problem }}
    input: "{{{{ problem }}}}"
  - id: check1
    agent: checker1
    after: [review]
    input: "Problems:\\n{{{{ inputs.problems }}}}\\nProposed:\\n{{{{ steps.review.output }}}}"
  - id: check2
    agent: checker2
    after: [check1]
    input: "Problems:\\n{{{{ inputs.problems }}}}\\nProposed:\\n{{{{ steps.review.output }}}}"
"""


def run(agentrt, path, problems, threads):
    cmd = [agentrt, "run", path, "--json", "--quiet", "--threads", str(threads),
           "--input", "problems=" + json.dumps(problems)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}: exit {p.returncode}: {p.stderr[-800:]}")
    out = json.loads(p.stdout)
    steps = {s["id"]: s for s in out["steps"]}
    return {k: {"seconds": steps[k]["seconds"], "cached_tokens": steps[k]["cached_tokens"]}
            for k in ("check1", "check2")} | {"engines": out["engines"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agentrt", default=os.path.join(ROOT, "build", "cli", "agentrt"))
    ap.add_argument("--n", default="4,16,64")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ops", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "fan_in.json"))
    args = ap.parse_args()
    report = {"rows": []}
    print("| N | mode | checker 1 TTFT (s) | checker 2 TTFT (s) | checker 2 cached tokens |"
          "\n| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as d:
        paths = {}
        for mode in ("exact", "blend"):
            paths[mode] = os.path.join(d, f"fan_in_{mode}.yaml")
            with open(paths[mode], "w") as f:
                f.write(WORKFLOW.format(mode=mode, system=SYSTEM))
        for n in [int(x) for x in args.n.split(",")]:
            rng = random.Random(9_200_000 + n)
            problems = [pg.generate(rng, args.ops, args.ops).text() for _ in range(n)]
            for mode in ("exact", "blend"):
                runs = [run(args.agentrt, paths[mode], problems, args.threads)
                        for _ in range(args.repeats)]
                c1 = statistics.median(r["check1"]["seconds"] for r in runs)
                c2 = statistics.median(r["check2"]["seconds"] for r in runs)
                cached = statistics.median(r["check2"]["cached_tokens"] for r in runs)
                report["rows"].append({"n": n, "mode": mode, "check1_s": c1, "check2_s": c2,
                                       "check2_cached_tokens": cached, "runs": runs})
                print(f"| {n} | {mode} | {c1:.3f} | {c2:.3f} | {cached:.0f} |", flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
