#!/usr/bin/env python3
"""tiny-calc's accuracy table measured THROUGH `agentrt run` with the best-of-N example
(workflows/examples/best_of_majority.yaml): the runtime runs the model on the CPU, executes
the calculator tool calls and aggregates the samples.

Problems are the held-out evaluation problems of the PyTorch evaluation: for each level
(ops, distractors) the first P problems of random.Random(9_000_000 + 1000*ops + dis) from
models/train/problems.py (train.py eval_levels; run 4 used the first 48). For each problem:
one greedy run (n=1, temperature 0) and one best-of run (n=16, temperature 0.8). As in
models/train/rollout.py: maj@1 is the mean single-sample accuracy, maj@4 averages 4 disjoint
groups of 4, maj@16 is the runtime's own majority vote over the 16 samples (ties: earliest
sample, as Counter.most_common), pass@16 counts a problem solved if any sample is right.

    python3 bench/workflow_accuracy.py --problems 24 --jobs 2
"""
import argparse
import collections
import concurrent.futures as cf
import json
import os
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models", "train"))
import problems as pg  # noqa: E402  (pure Python, no torch)

EXAMPLE = os.path.join(ROOT, "workflows", "examples", "best_of_majority.yaml")


def eval_problems(ops, dis, n):
    rng = random.Random(9_000_000 + 1000 * ops + dis)  # train.py eval_levels
    return [pg.generate(rng, ops, dis) for _ in range(n)]


def run(agentrt, question, n, temperature, threads):
    cmd = [agentrt, "run", EXAMPLE, "--json", "--quiet", "--threads", str(threads),
           "--input", f"question={question}", "--input", f"n={n}",
           "--input", f"temperature={temperature}"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr[-500:]}")
    return json.loads(p.stdout)


def as_int(a):
    try:
        return int(a)
    except (TypeError, ValueError):
        return None


def majority(answers):
    votes = collections.Counter(a for a in answers if a is not None)
    return votes.most_common(1)[0][0] if votes else None


INDEPENDENT = os.path.join(ROOT, "bench", "independent_samples.yaml")


def run_independent(agentrt, question, n, threads):
    """n independent agent runs (a map step) instead of one forked best-of."""
    cmd = [agentrt, "run", INDEPENDENT, "--json", "--quiet", "--threads", str(threads),
           "--input", "questions=" + json.dumps([question] * n)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr[-500:]}")
    out = json.loads(p.stdout)
    answers = [as_int(a) for a in out["steps"][0]["fields"]["answer"]]
    return {"outputs": {"answer": majority(answers)}, "seconds": out["seconds"],
            "steps": [{"samples": [{"answer": a} for a in answers]}]}


def one_problem(agentrt, prob, samples, temperature, threads, independent=False):
    g = run(agentrt, prob.text(), 1, 0, threads)
    s = (run_independent(agentrt, prob.text(), samples, threads) if independent
         else run(agentrt, prob.text(), samples, temperature, threads))
    gs, ss = g["steps"][0], s["steps"][0]
    return {
        "question": prob.text(), "truth": prob.answer,
        "greedy": as_int(g["outputs"].get("answer")), "greedy_calls": gs["tool_calls"],
        "samples": [as_int(x["answer"]) for x in ss["samples"]],
        "chosen": as_int(s["outputs"].get("answer")),
        "seconds": g["seconds"] + s["seconds"],
    }


def summarize(rows, samples):
    acc = lambda xs: sum(xs) / max(1, len(xs))  # noqa: E731
    out = {}
    out["greedy"] = acc([r["greedy"] == r["truth"] for r in rows])
    out["maj1"] = acc([acc([a == r["truth"] for a in r["samples"]]) for r in rows])
    out["maj4"] = acc([acc([majority(r["samples"][k:k + 4]) == r["truth"]
                            for k in range(0, samples - 3, 4)]) for r in rows])
    out["maj16"] = acc([r["chosen"] == r["truth"] for r in rows])
    out["maj16_recomputed"] = acc([majority(r["samples"][:16]) == r["truth"] for r in rows])
    out["pass16"] = acc([any(a == r["truth"] for a in r["samples"][:16]) for r in rows])
    out["greedy_calls"] = acc([r["greedy_calls"] for r in rows])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agentrt", default=os.path.join(ROOT, "build", "cli", "agentrt"))
    ap.add_argument("--problems", type=int, default=24, help="per level")
    ap.add_argument("--levels", default="1,2,3,4,6,8,10", help="ops (distractors = ops)")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--jobs", type=int, default=2, help="agentrt processes at once")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per process")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "workflow_accuracy.json"))
    ap.add_argument("--reference", help="bench/tiny_calc_reference.py output: compare the "
                    "greedy answers problem by problem")
    ap.add_argument("--independent", action="store_true",
                    help="samples as independent agent runs (bench/independent_samples.yaml, "
                    "temperature 0.8) instead of the best-of example's forked samples")
    ap.add_argument("--from-results", help="skip the runs: compare this earlier --out file")
    args = ap.parse_args()
    if args.from_results:
        with open(args.from_results) as f:
            compare(json.load(f), args.reference)
        return
    t0 = time.time()
    levels = [(int(o), int(o)) for o in args.levels.split(",")]
    report = {"problems_per_level": args.problems, "samples": args.samples,
              "independent": args.independent,
              "temperature": args.temperature, "levels": []}
    for ops, dis in levels:
        probs = eval_problems(ops, dis, args.problems)
        t1 = time.time()
        with cf.ThreadPoolExecutor(args.jobs) as ex:
            rows = list(ex.map(lambda p: one_problem(args.agentrt, p, args.samples,
                                                     args.temperature, args.threads,
                                                     args.independent), probs))
        s = summarize(rows, args.samples)
        s.update(ops=ops, distractors=dis, problems=len(rows), seconds=round(time.time() - t1, 1))
        report["levels"].append({"summary": s, "rows": rows})
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:  # after every level: a cut-short run keeps its levels
            json.dump(report, f, indent=1)
        print(f"({ops}, {dis}): greedy {s['greedy']:.3f} maj@1 {s['maj1']:.3f} "
              f"maj@4 {s['maj4']:.3f} maj@16 {s['maj16']:.3f} pass@16 {s['pass16']:.3f} "
              f"calls {s['greedy_calls']:.1f} ({s['seconds']}s)", flush=True)
    report["seconds"] = round(time.time() - t0, 1)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print("\n| difficulty (ops, distractors) | greedy | maj@1 | maj@4 | maj@16 | pass@16 "
          "| greedy calls |\n| --- | --- | --- | --- | --- | --- | --- |")
    for lv in report["levels"]:
        s = lv["summary"]
        print(f"| {s['ops']}, {s['distractors']} | {100 * s['greedy']:.1f}% | "
              f"{100 * s['maj1']:.1f}% | {100 * s['maj4']:.1f}% | {100 * s['maj16']:.1f}% | "
              f"{100 * s['pass16']:.1f}% | {s['greedy_calls']:.1f} |")
    print(f"\n{report['seconds']} s in all; per-problem rows in {args.out}")
    if args.reference:
        compare(report, args.reference)


def compare(report, reference_path):
    """Greedy agreement with PyTorch on the same problems, and the reference's table."""
    with open(reference_path) as f:
        ref = json.load(f)
    by_ops = {lv["ops"]: lv["rows"] for lv in ref["greedy"]}
    print("\n| ops | problems | same greedy answer as PyTorch | agentrt greedy | PyTorch greedy |"
          "\n| --- | --- | --- | --- | --- |")
    for lv in report["levels"]:
        ops, rows = lv["summary"]["ops"], lv["rows"]
        theirs = {r["question"]: r for r in by_ops.get(ops, [])}
        both = [(r, theirs[r["question"]]) for r in rows if r["question"] in theirs]
        same = sum(a["greedy"] == b["greedy"] for a, b in both)
        ours = sum(a["greedy"] == a["truth"] for a, _ in both)
        pt = sum(b["greedy"] == b["truth"] for _, b in both)
        print(f"| {ops} | {len(both)} | {same} | {ours} | {pt} |")
    print("\nPyTorch on the same problems (rollout.evaluate):")
    for r in ref["rows"]:
        print(f"| {r['ops']}, {r['distractors']} | {100 * r['greedy']:.1f}% | "
              f"{100 * r['maj1']:.1f}% | {100 * r['maj4']:.1f}% | {100 * r['maj16']:.1f}% | "
              f"{100 * r['pass16']:.1f}% | {r['greedy_mean_calls']:.1f} |")


if __name__ == "__main__":
    main()
