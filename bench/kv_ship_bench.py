#!/usr/bin/env python3
"""KV shipping between nodes against recompute (issue 20; docs/cluster.md, "KV moves with an
agent"). On loopback with tiny-calc: `agentrt serve --cluster-policy program_affinity` and two
`agentrt node` workers. For each context length C, an agent session's first turn (C prompt
tokens, a forced tool call) pauses on n1; n1 drains (SIGTERM) and ships the session's KV to
n2; the second turn then runs on n2. Against it, the same-length second turn of a session
n2 has never seen (it prefills everything). Reports, per C: the drain (SIGTERM to exit, the
ship included), the second turn's time to first token both ways, tokens prefilled, and the
ratio of resume times (recompute TTFT / (drain + shipped TTFT) and recompute TTFT / shipped
TTFT). Prints a table and writes JSON.

--mode crash: n1 runs with --kv-store and is killed with SIGKILL after the first turn (no
drain); the second turn's worker n2 adopts the session's blocks from n1's store
(KvAdoptCall) before it runs. "drain (s)" is then 0 and "blocks shipped" the blocks adopted;
the shipped TTFT includes the adoption.

Usage: bench/kv_ship_bench.py AGENTRT_BIN [--contexts 1024,2048,3584] [--threads 1]
                              [--mode drain|crash] [--json bench/results/kv_ship.json]
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(SRC, "models", "tiny-calc")
TOOL = {"type": "function", "function": {
    "name": "calculator", "description": "Evaluate an integer arithmetic expression.",
    # One allowed value: the forced call (tool_choice required) ends within a few tokens
    # whatever the filler did to tiny-calc, so turn 1 pauses with its KV pinned.
    "parameters": {"type": "object", "properties": {"expression": {"enum": ["3 + 5"]}},
                   "required": ["expression"], "additionalProperties": False}}}


def wait_log(path, pattern, limit=60.0):
    until = time.time() + limit
    while time.time() < until:
        with open(path, errors="replace") as f:
            m = re.search(pattern, f.read())
        if m:
            return m.group(1) if m.groups() else m.group(0)
        time.sleep(0.05)
    raise RuntimeError(f"{path}: no '{pattern}' within {limit}s")


def post(port, body, session):
    """Streams one chat completion; returns (ttft_s, usage, reply message, node)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions", json.dumps(body).encode(),
        {"Content-Type": "application/json", "X-Agentrt-Session": session})
    t0 = time.perf_counter()
    ttft, usage, content, calls = None, None, "", {}
    with urllib.request.urlopen(req, timeout=600) as r:
        node = r.headers.get("X-Agentrt-Node", "")
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            frame = json.loads(line[6:])
            if frame.get("usage"):
                usage = frame["usage"]
            for ch in frame.get("choices", []):
                d = ch.get("delta", {})
                if ttft is None and (d.get("content") or d.get("tool_calls")):
                    ttft = time.perf_counter() - t0
                content += d.get("content") or ""
                for c in d.get("tool_calls") or []:
                    e = calls.setdefault(c["index"], {"id": "", "name": "", "arguments": ""})
                    e["id"] = c.get("id") or e["id"]
                    f = c.get("function") or {}
                    e["name"] += f.get("name") or ""
                    e["arguments"] += f.get("arguments") or ""
    msg = {"role": "assistant", "content": content or None,
           "tool_calls": [{"id": c["id"], "type": "function",
                           "function": {"name": c["name"], "arguments": c["arguments"]}}
                          for _, c in sorted(calls.items())]}
    return ttft, usage, msg, node


def conversation(words, seed):
    filler = " ".join(f"item{(i * 7919 + seed) % 997} costs {(i * 31 + seed) % 89}"
                      for i in range(words))
    return [{"role": "system", "content": "Price list: " + filler},
            {"role": "user", "content": "What do item3 and item5 cost together?"}]


def body(messages, max_tokens, **extra):
    b = {"model": "tiny-calc", "messages": messages, "tools": [TOOL], "temperature": 0,
         "max_tokens": max_tokens, "stream": True, "stream_options": {"include_usage": True}}
    b.update(extra)
    return b


def one_context(binary, threads, words, tmp, mode):
    secret = os.path.join(tmp, "secret")
    with open(secret, "w") as f:
        f.write("kv-ship-bench-secret-0123456789\n")
    log = os.path.join(tmp, "serve.log")
    procs = []
    try:
        procs.append(subprocess.Popen(
            [binary, "serve", "--port", "0", "--data", os.path.join(tmp, "data"), "--model", MODEL,
             "--threads", str(threads), "--cluster-port", "0", "--cluster-secret-file", secret,
             "--cluster-policy", "program_affinity"],
            stdout=open(log, "w"), stderr=subprocess.STDOUT))
        port = int(wait_log(log, r"serving on http://127\.0\.0\.1:(\d+)"))
        cport = wait_log(log, r"workers join at 127\.0\.0\.1:(\d+)")

        def node(name, nid, extra=()):
            p = subprocess.Popen(
                [binary, "node", "--join", f"127.0.0.1:{cport}", "--secret-file", secret,
                 "--name", name, "--model", MODEL, "--threads", str(threads), *extra],
                stdout=open(os.path.join(tmp, name + ".log"), "w"), stderr=subprocess.STDOUT)
            procs.append(p)
            wait_log(log, f"node {nid} '{name}' joined")
            return p

        store = ("--kv-store", os.path.join(tmp, "n1-kv")) if mode == "crash" else ()
        n1 = node("n1", 1, store)
        shipped_conv = conversation(words, 1)
        recompute_conv = conversation(words, 2)
        # Turn 1 of the shipped session pauses on n1 (a forced call pins its KV).
        _, u1, msg, where = post(port, body(shipped_conv, 48, tool_choice="required"), "shipped")
        assert where == "n1", where
        node("n2", 2)
        if mode == "crash":
            time.sleep(1.5)  # the pause writes the turn's blocks behind
            n1.send_signal(signal.SIGKILL)
            n1.wait(timeout=120)
            wait_log(log, r"node 1 'n1' is dead")
            drain_s = 0.0
        else:
            t0 = time.perf_counter()
            n1.send_signal(signal.SIGTERM)
            n1.wait(timeout=120)
            drain_s = time.perf_counter() - t0
            blocks = int(wait_log(os.path.join(tmp, "n1.log"),
                                  r"drained; (\d+) KV blocks shipped"))
        tool = {"role": "tool", "tool_call_id": (msg["tool_calls"] or [{"id": "x"}])[0]["id"],
                "content": "42"}
        turn2 = shipped_conv + [msg, tool]
        ttft_ship, u_ship, _, where_ship = post(port, body(turn2, 8), "shipped")
        if mode == "crash":
            blocks = int(wait_log(log, r"(\d+) KV blocks of the dead node's session adopted"))
            adopt_ms = int(wait_log(log, r"session adopted in (\d+) ms"))
        # The same shape on n2 without its KV: every prompt token is prefilled.
        turn2_r = recompute_conv + [msg, tool]
        ttft_re, u_re, _, where_re = post(port, body(turn2_r, 8), "recompute")
        if mode != "crash":
            adopt_ms = None
        cached = lambda u: (u.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
        return {
            "context_tokens": u_ship["prompt_tokens"],
            "turn1_prompt_tokens": u1["prompt_tokens"] if u1 else None,
            "shipped_blocks": blocks,
            "drain_s": drain_s,
            "adopt_ms": adopt_ms,
            "ship_ttft_s": ttft_ship,
            "ship_prefilled": u_ship["prompt_tokens"] - cached(u_ship),
            "recompute_ttft_s": ttft_re,
            "recompute_prefilled": u_re["prompt_tokens"] - cached(u_re),
            "nodes": [where_ship, where_re],
        }
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--contexts", default="1024,2048,3584")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mode", choices=["drain", "crash"], default="drain")
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    rows = []
    for c in [int(x) for x in a.contexts.split(",")]:
        tmp = tempfile.mkdtemp(prefix="kv_ship_")
        try:
            rows.append(one_context(a.binary, a.threads, max(8, (c - 120) // 16), tmp, a.mode))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        r = rows[-1]
        r["ratio_ttft"] = r["recompute_ttft_s"] / r["ship_ttft_s"]
        r["ratio_with_drain"] = r["recompute_ttft_s"] / (r["drain_s"] + r["ship_ttft_s"])
    print("| context tokens | blocks shipped | drain (s) | adopt (ms) | TTFT shipped (s) | "
          "prefilled | TTFT recompute (s) | prefilled | recompute / shipped TTFT | "
          "recompute / (drain + TTFT) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        adopt = "-" if r["adopt_ms"] is None else str(r["adopt_ms"])
        print(f"| {r['context_tokens']} | {r['shipped_blocks']} | {r['drain_s']:.3f} | {adopt} | "
              f"{r['ship_ttft_s']:.3f} | {r['ship_prefilled']} | {r['recompute_ttft_s']:.3f} | "
              f"{r['recompute_prefilled']} | {r['ratio_ttft']:.2f}x | {r['ratio_with_drain']:.2f}x |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"bench": "kv_ship", "mode": a.mode, "threads": a.threads, "rows": rows}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
