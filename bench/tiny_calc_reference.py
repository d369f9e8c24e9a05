#!/usr/bin/env python3
"""PyTorch reference for bench/workflow_accuracy.py (run where torch + CUDA are): the same
held-out problems through models/train/rollout.py (re-render every turn, reference
calculator), with per-problem greedy answers so that agentrt's greedy answers can be
compared problem by problem, and the aggregate table on the same subset.

    python3 bench/tiny_calc_reference.py --problems 16 --out $OUT/reference.json
"""
import argparse
import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models", "train"))

import torch  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

import problems as pg  # noqa: E402
import rollout  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--levels", default="1,2,3,4,6,8,10")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    t0 = time.time()
    model_dir = os.path.join(ROOT, "models", "tiny-calc")
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    hf = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).cuda().eval()
    fast = rollout.FastQwen2(hf)
    levels, per_problem = [], []
    for o in args.levels.split(","):
        ops = dis = int(o)
        rng = random.Random(9_000_000 + 1000 * ops + dis)
        probs = [pg.generate(rng, ops, dis) for _ in range(args.problems)]
        levels.append((f"ops={ops} distractors={dis}", ops, dis, probs))
        greedy = [rollout.Rollout(p, 0.0) for p in probs]
        rollout.run_rollouts(fast, tok, greedy, seed=0, log=lambda *_: None)
        per_problem.append({"ops": ops, "rows": [
            {"question": p.text(), "truth": p.answer, "greedy": r.answer, "calls": r.calls,
             "fail": r.fail, "messages": r.messages} for p, r in zip(probs, greedy)]})
    rows = rollout.evaluate(fast, tok, levels, 16, 0.8, seed=0, log=print)
    with open(args.out, "w") as f:
        json.dump({"rows": rows, "greedy": per_problem, "seconds": time.time() - t0}, f, indent=1)
    print(f"done in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
