#!/usr/bin/env python3
"""Where agentrt's greedy rollouts leave PyTorch's: for every problem whose greedy answer
differs (bench/workflow_accuracy.py --out vs bench/tiny_calc_reference.py --out, the latter
WITH its per-problem messages), reruns agentrt greedily and reports the first assistant
turn whose text or tool calls differ.

    python3 bench/greedy_divergence.py RESULTS.json REFERENCE_WITH_MESSAGES.json
"""
import collections
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "workflows", "examples", "best_of_majority.yaml")


def agentrt_messages(question):
    out = subprocess.run([os.path.join(ROOT, "build", "cli", "agentrt"), "run", EXAMPLE,
                          "--json", "--quiet", "--input", "question=" + question,
                          "--input", "n=1", "--input", "temperature=0"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["steps"][0]["samples"][0]["messages"]


def first_difference(ours, theirs):
    a = [m for m in ours if m["role"] == "assistant"]
    p = [m for m in theirs if m["role"] == "assistant"]
    for i, (x, y) in enumerate(zip(a, p)):
        xc = [c["arguments"] for c in x.get("tool_calls", [])]
        yc = [c["function"]["arguments"] for c in y.get("tool_calls", [])]
        if x["content"].strip() != y["content"].strip() or xc != yc:
            return i
    return min(len(a), len(p))


def main():
    ours, ref = (json.load(open(f)) for f in sys.argv[1:3])
    hist = collections.Counter()
    for lv_ref, lv in zip(ref["greedy"], ours["levels"]):
        mine = {r["question"]: r for r in lv["rows"]}
        for r in lv_ref["rows"]:
            if r["question"] not in mine or mine[r["question"]]["greedy"] == r["greedy"]:
                continue
            turn = first_difference(agentrt_messages(r["question"]), r["messages"])
            hist[(lv_ref["ops"], turn)] += 1
            print(f"ops {lv_ref['ops']}: truth {r['truth']} PyTorch {r['greedy']} "
                  f"agentrt {mine[r['question']]['greedy']}: first different reply {turn}")
    print("(ops, first different assistant reply): problems", sorted(hist.items()))


if __name__ == "__main__":
    main()
