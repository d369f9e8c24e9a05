#!/usr/bin/env python3
"""Cluster under load and crashes (issue 20; docs/cluster.md, "KV moves with an agent" and
"What fails how"). Loopback, tiny-calc on the CPU, `agentrt serve --cluster-port 0` and
`agentrt node` workers.

load: ship-on-load against recompute. program_affinity, 3 workers. For each context C, an
  agent session's first turn (C prompt tokens, a forced tool call) pauses on n1 while n1 is
  the only worker; then 16 long streams keep n1 busy, n2 and n3 join, and each session's
  second turn moves off n1 for load, its KV following (the turn waits for it). Against it,
  the same-shaped second turn of a session no node has seen (recompute on the target).
  Reports per C: time to first token both ways, tokens prefilled, blocks shipped and the
  coordinator's wait for them.

crash: a stream of REST jobs (workflows/examples: single_agent, map_questions, when_branch,
  schema_map in turn; JOBS jobs, at most INFLIGHT at once) on a coordinator and 3 workers,
  once undisturbed (the reference outputs) and once while a worker is SIGKILLed every
  KILL_EVERY seconds and restarted a second later (n1, n2, n3 in turn). Checks that every
  job succeeds once (one completion per job in the server's log) with the outputs of the
  undisturbed run; reports jobs/s both ways and the jobs that moved.

Usage: bench/cluster_crash_bench.py AGENTRT_BIN [--mode load|crash|both]
           [--contexts 160,512,1024,2048] [--jobs 24] [--inflight 6] [--kill-every 3]
           [--json FILE]
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kv_ship_bench import body, conversation, post, wait_log  # noqa: E402

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(SRC, "models", "tiny-calc")
EXAMPLES = ["single_agent", "map_questions", "when_branch", "schema_map"]


class Cluster:
    def __init__(self, binary, policy, tmp, threads=1, kv_blocks=0):
        self.binary, self.tmp, self.threads, self.kv_blocks = binary, tmp, threads, kv_blocks
        self.secret = os.path.join(tmp, "secret")
        with open(self.secret, "w") as f:
            f.write("cluster-crash-bench-secret-0123456789\n")
        self.log = os.path.join(tmp, "serve.log")
        self.nodes = {}
        self.next_id = 1
        self.serve = subprocess.Popen(
            [binary, "serve", "--port", "0", "--data", os.path.join(tmp, "data"), "--model",
             MODEL, "--threads", str(threads), "--cluster-port", "0", "--cluster-secret-file",
             self.secret, "--cluster-policy", policy, "--max-running-jobs", "16"],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.port = int(wait_log(self.log, r"serving on http://127\.0\.0\.1:(\d+)"))
        self.cport = wait_log(self.log, r"workers join at 127\.0\.0\.1:(\d+)")

    def start(self, name, wait=True):
        nid = self.next_id
        self.next_id += 1
        self.nodes[name] = subprocess.Popen(
            [self.binary, "node", "--join", f"127.0.0.1:{self.cport}", "--secret-file",
             self.secret, "--name", name, "--model", MODEL, "--threads", str(self.threads)] +
            (["--kv-blocks", str(self.kv_blocks)] if self.kv_blocks else []),
            stdout=open(os.path.join(self.tmp, name + ".log"), "a"), stderr=subprocess.STDOUT)
        if wait:
            wait_log(self.log, f"node {nid} '{name}' joined")

    def kill(self, name):
        p = self.nodes[name]
        p.send_signal(signal.SIGKILL)
        p.wait()

    def close(self):
        for p in list(self.nodes.values()) + [self.serve]:
            if p.poll() is None:
                p.kill()
                p.wait()

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


def http(port, method, path, payload=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=json.dumps(payload).encode() if payload else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def stream_load(port, n, stop):
    """n long streamed text completions, each read until `stop` is set."""
    def one():
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/completions",
            json.dumps({"model": "tiny-calc", "prompt": "Ian has 7 cups.", "max_tokens": 3000,
                        "ignore_eos": True, "stream": True}).encode(),
            {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                for _ in r:
                    if stop.is_set():
                        return
        except Exception:  # noqa: BLE001 - the node may die; the load only needs to exist
            pass
    threads = [threading.Thread(target=one, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


def load_mode(binary, contexts, tmp):
    # Device KV for every paused session's pin beside the 16 streams: a node short of KV drops
    # pins, and a session no longer paused there is not shipped (docs/cluster.md).
    cl = Cluster(binary, "program_affinity", tmp, kv_blocks=2048)
    stop = threading.Event()
    try:
        cl.start("n1")
        sessions = []
        for i, c in enumerate(contexts):
            conv = conversation(max(8, (c - 120) // 16), 10 + i)
            _, _, msg, where = post(cl.port, body(conv, 48, tool_choice="required"), f"ship-{c}")
            assert where == "n1", where
            sessions.append((c, conv, msg))
        threads = stream_load(cl.port, 16, stop)
        until = time.time() + 30
        while cl.log_text().count("-> node 1 'n1'") < len(contexts) + 16 and time.time() < until:
            time.sleep(0.05)
        cl.start("n2")
        cl.start("n3")
        time.sleep(0.6)  # a load report of each
        rows = []
        for i, (c, conv, msg) in enumerate(sessions):
            tool = {"role": "tool", "tool_call_id": (msg["tool_calls"] or [{"id": "x"}])[0]["id"],
                    "content": "42"}
            before = cl.log_text()
            ttft_s, u_s, _, node_s = post(cl.port, body(conv + [msg, tool], 8), f"ship-{c}")
            after = cl.log_text()[len(before):]
            landed = re.search(r"(\d+) KV blocks of the moved session landed in (\d+) ms", after)
            fresh = conversation(max(8, (c - 120) // 16), 100 + i)
            ttft_r, u_r, _, node_r = post(cl.port, body(fresh + [msg, tool], 8), f"fresh-{c}")
            cached = lambda u: (u.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
            rows.append({
                "context_tokens": u_s["prompt_tokens"],
                "shipped_blocks": int(landed.group(1)) if landed else 0,
                "ship_wait_ms": int(landed.group(2)) if landed else None,
                "ship_ttft_s": ttft_s, "ship_prefilled": u_s["prompt_tokens"] - cached(u_s),
                "recompute_ttft_s": ttft_r,
                "recompute_prefilled": u_r["prompt_tokens"] - cached(u_r),
                "nodes": [node_s, node_r],
            })
        return rows
    finally:
        stop.set()
        cl.close()


def run_jobs(binary, jobs, inflight, kill_every, tmp):
    cl = Cluster(binary, "least_loaded", tmp)
    yamls = {e: open(os.path.join(SRC, "workflows", "examples", e + ".yaml")).read()
             for e in EXAMPLES}
    kills = 0
    done_flag = threading.Event()

    def killer():
        nonlocal kills
        rng = random.Random(7)
        i = 0
        while not done_flag.wait(kill_every * (0.75 + 0.5 * rng.random())):
            name = ["n1", "n2", "n3"][i % 3]
            i += 1
            cl.kill(name)
            kills += 1
            if done_flag.wait(1.0):
                break
            cl.start(name, wait=False)

    try:
        for n in ("n1", "n2", "n3"):
            cl.start(n)
        t0 = time.perf_counter()
        if kill_every > 0:
            threading.Thread(target=killer, daemon=True).start()
        pending, results, next_job = {}, {}, 0
        while next_job < jobs or pending:
            while next_job < jobs and len(pending) < inflight:
                e = EXAMPLES[next_job % len(EXAMPLES)]
                jid = http(cl.port, "POST", "/v1/jobs", {"yaml": yamls[e]})["id"]
                pending[jid] = e
                next_job += 1
            time.sleep(0.1)
            for jid in list(pending):
                j = http(cl.port, "GET", f"/v1/jobs/{jid}")
                if j.get("state") not in ("queued", "running"):
                    results[jid] = (pending.pop(jid), j)
        wall = time.perf_counter() - t0
        done_flag.set()
        log = cl.log_text()
        ran = re.findall(r"cluster: the job ran on (.*)", log)
        return {
            "wall_s": wall, "jobs_per_s": jobs / wall, "kills": kills,
            "completions_logged": len(ran),
            "moved_jobs": sum(1 for r in ran if ", then " in r),
            "results": {jid: {"workflow": e, "state": j.get("state"),
                              "outputs": j.get("outputs")} for jid, (e, j) in results.items()},
        }
    finally:
        done_flag.set()
        cl.close()


def crash_mode(binary, jobs, inflight, kill_every, tmp):
    base = run_jobs(binary, jobs, inflight, 0, os.path.join(tmp, "base"))
    hurt = run_jobs(binary, jobs, inflight, kill_every, os.path.join(tmp, "kills"))
    ref = {}
    for r in base["results"].values():
        ref.setdefault(r["workflow"], r["outputs"])
    same = lambda run: sum(1 for r in run["results"].values()
                           if r["state"] == "succeeded" and r["outputs"] == ref[r["workflow"]])
    consistent = all(r["outputs"] == ref[r["workflow"]] for r in base["results"].values())
    out = {}
    for name, run in (("undisturbed", base), ("kills", hurt)):
        out[name] = {k: v for k, v in run.items() if k != "results"}
        out[name]["succeeded_with_reference_outputs"] = same(run)
        out[name]["jobs"] = len(run["results"])
    out["undisturbed_outputs_consistent"] = consistent
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--mode", default="both", choices=["load", "crash", "both"])
    ap.add_argument("--contexts", default="160,512,1024,2048")
    ap.add_argument("--jobs", type=int, default=24)
    ap.add_argument("--inflight", type=int, default=6)
    ap.add_argument("--kill-every", type=float, default=3.0)
    ap.add_argument("--json", default="")
    ap.add_argument("--keep", action="store_true", help="keep the logs' directory")
    a = ap.parse_args()
    result = {"bench": "cluster_crash"}
    tmp = tempfile.mkdtemp(prefix="cluster_crash_")
    try:
        if a.mode in ("load", "both"):
            os.makedirs(os.path.join(tmp, "load"))
            rows = load_mode(a.binary, [int(x) for x in a.contexts.split(",")],
                             os.path.join(tmp, "load"))
            result["load"] = rows
            print("| context tokens | blocks shipped | wait for them (ms) | TTFT shipped (s) | "
                  "prefilled | TTFT recompute (s) | prefilled | recompute / shipped | nodes |")
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for r in rows:
                print(f"| {r['context_tokens']} | {r['shipped_blocks']} | {r['ship_wait_ms']} | "
                      f"{r['ship_ttft_s']:.3f} | {r['ship_prefilled']} | "
                      f"{r['recompute_ttft_s']:.3f} | {r['recompute_prefilled']} | "
                      f"{r['recompute_ttft_s'] / r['ship_ttft_s']:.2f}x | "
                      f"{' / '.join(r['nodes'])} |")
        if a.mode in ("crash", "both"):
            os.makedirs(os.path.join(tmp, "base"))
            os.makedirs(os.path.join(tmp, "kills"))
            c = crash_mode(a.binary, a.jobs, a.inflight, a.kill_every, tmp)
            result["crash"] = c
            print(json.dumps(c, indent=1))
    finally:
        if a.keep:
            print("logs in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
