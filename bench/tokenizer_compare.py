#!/usr/bin/env python3
"""Tokenizer throughput: agentrt's tokenizer_bench against Hugging Face `tokenizers`, on the
same corpus, on the same machine, in the same run. Prints a table and writes JSON.

    python3 bench/tokenizer_compare.py --bench BUILD/bench/tokenizer_bench \
        --tokenizers DIR --out OUT.json
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "tokenizer"))
import make_fixtures  # noqa: E402  (reuses its HF benchmark, so both sides time the same way)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--tokenizers", required=True)
    ap.add_argument("--corpus", default=os.path.join(HERE, "..", "tests", "tokenizer", "corpus.jsonl"))
    ap.add_argument("--names", default="qwen3,llama3_1")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from tokenizers import Tokenizer
    corpus = make_fixtures.read_corpus(args.corpus)
    results = {}
    print(f"{'tokenizer':10} {'case':24} {'HF MB/s':>9} {'agentrt MB/s':>13} {'ratio':>6}")
    for name in args.names.split(","):
        d = os.path.join(args.tokenizers, name)
        hf = make_fixtures.make_bench(Tokenizer.from_file(os.path.join(d, "tokenizer.json")),
                                      corpus, args.seconds)
        ours_path = args.out + f".{name}.agentrt.json"
        subprocess.run([args.bench, "--tokenizer", d, "--corpus", args.corpus,
                        "--seconds", str(args.seconds), "--json", ours_path], check=True)
        with open(ours_path) as f:
            ours = json.load(f)
        results[name] = {"hf": hf, "agentrt": ours}
        for case in ("single_thread_loop", "single_call_20x_corpus"):
            h, o = hf[case]["mb_per_s"], ours[case]["mb_per_s"]
            print(f"{name:10} {case:24} {h:9.2f} {o:13.2f} {o / h:6.2f}")
        print(f"{name:10} {'encode_batch (HF, all cores)':24} {hf['encode_batch']['mb_per_s']:9.2f}")
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
