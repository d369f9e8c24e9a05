#!/usr/bin/env python3
"""Crash test of `agentrt serve`: kill -9 at random moments during multi-step jobs, restart.

1. Reference: a server runs one job per input set, uninterrupted, and records the outputs.
2. Crash cycles on a fresh data directory: start the server, submit jobs (each with its own
   Idempotency-Key, retried after every restart until a reply arrives), wait a random time,
   SIGKILL it. Repeat CYCLES times.
3. A last start: every accepted job must finish `succeeded` with the reference outputs
   (greedy decoding), and the job list must hold each intended job exactly once.

Usage: crash_test.py AGENTRT SOURCE_DIR [--cycles N] [--seed S] [--jobs J]
Exit 0 when every check holds; prints what failed otherwise. Only the standard library.
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
import time
import urllib.error
import urllib.request

# A multi-step workflow: a map step (items checkpointed one by one) and a step after it.
WORKFLOW = r"""name: crash-map
tools:
  calculator: { builtin: calculator }
agents:
  solver:
    system: >-
      You solve arithmetic word problems. Use the calculator tool for every operation,
      then give the final line as 'Answer: N'.
    tools: [calculator]
    sampling: { temperature: 0, max_tokens: 120 }
    max_turns: 6
inputs:
  questions: { type: list }
steps:
  - id: solve_all
    agent: solver
    map: { over: "{{ inputs.questions }}", as: question, concurrency: 1 }
    input: "{{ question }}"
    extract: { answer: 'Answer: *(-?\d+)' }
  - id: check
    agent: solver
    input: "What is {{ steps.solve_all.answer | join(' + ') }}?"
    extract: { answer: 'Answer: *(-?\d+)' }
outputs:
  answers: '{{ steps.solve_all.answer | join(", ") }}'
  total: "{{ steps.check.output }}"
"""

QUESTIONS = [
    ["Sam has 7 apples and buys 8 more. How many apples does Sam have?",
     "Mia has 30 cards and gives away 12. How many cards does Mia have?",
     "Ben has 6 boxes of 4 pens. How many pens does Ben have?"],
    ["Adam has 1 fewer stickers than Gus. Gus has 5 stickers. How many stickers does Adam have?",
     "Lily has 5 rocks. Will has 15 rocks. How many more rocks does Will have than Lily?"],
    ["Hana has 20 pencils. Jack has half as many pencils as Hana. How many pencils does Jack have?",
     "Kate has 3 cookies. Sam has 5 cookies. How many cookies do they have together?",
     "Tara has 9 cookies and eats 4. How many cookies does Tara have?"],
]


class Server:
    def __init__(self, binary, src, data, log):
        self.log_path = log
        self.logf = open(log, "ab")
        self.proc = subprocess.Popen(
            [binary, "serve", "--port", "0", "--data", data, "--threads", "1",
             "--kv-blocks", "512", "--max-running-jobs", "2", "--max-queued-jobs", "256",
             "--max-jobs-per-client", "256"],
            cwd=src, stdout=self.logf, stderr=self.logf)
        self.port = None
        start = os.path.getsize(log)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %d; log:\n%s" %
                                   (self.proc.returncode, open(log).read()[-4000:]))
            with open(log) as f:
                f.seek(max(0, start - 1))
                m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def request(self, method, path, body=None, headers=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url(path), data=data, method=method,
                                     headers=dict(headers or {}, **{"Content-Type": "application/json"}))
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.logf.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=120)
        self.logf.close()
        return rc


def wait_all(server, ids, limit_s):
    deadline = time.time() + limit_s
    final = {}
    while time.time() < deadline and len(final) < len(ids):
        for i in ids:
            if i in final:
                continue
            code, job = server.request("GET", "/v1/jobs/" + i)
            if code == 200 and job["state"] in ("succeeded", "failed", "cancelled"):
                final[i] = job
        time.sleep(0.1)
    return final


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("agentrt")
    ap.add_argument("src")
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=12, help="jobs submitted over the cycles")
    ap.add_argument("--max-wait", type=float, default=3.0, help="longest run before a kill (s)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tmp = tempfile.mkdtemp(prefix="agentrt-crash-")
    failures = []
    try:
        # 1. Reference outputs, uninterrupted.
        ref = Server(a.agentrt, a.src, os.path.join(tmp, "ref"), os.path.join(tmp, "ref.log"))
        ref_ids = []
        for qs in QUESTIONS:
            code, r = ref.request("POST", "/v1/jobs", {"yaml": WORKFLOW, "inputs": {"questions": qs}})
            assert code == 201, (code, r)
            ref_ids.append(r["id"])
        done = wait_all(ref, ref_ids, 600)
        reference = []
        for i in ref_ids:
            assert done.get(i, {}).get("state") == "succeeded", done.get(i)
            reference.append(done[i]["outputs"])
        assert ref.stop() == 0
        print("reference: %d jobs, outputs %s" % (len(reference), json.dumps(reference)))

        # 2. Crash cycles.
        data = os.path.join(tmp, "data")
        log = os.path.join(tmp, "crash.log")
        intended = {}  # idempotency key -> input set index
        accepted = {}  # idempotency key -> job id
        kills = 0
        for cycle in range(a.cycles):
            s = Server(a.agentrt, a.src, data, log)
            # Retry the submissions that got no reply, then add new ones.
            todo = [k for k in intended if k not in accepted]
            while len(intended) < a.jobs and rng.random() < 0.7:
                k = "job-%d" % len(intended)
                intended[k] = len(intended) % len(QUESTIONS)
                todo.append(k)
            deadline = time.time() + rng.uniform(0.05, a.max_wait)
            for k in todo:
                if time.time() > deadline:
                    break
                code, r = s.request("POST", "/v1/jobs",
                                    {"yaml": WORKFLOW, "inputs": {"questions": QUESTIONS[intended[k]]}},
                                    {"Idempotency-Key": k})
                if code in (200, 201):
                    if k in accepted and accepted[k] != r["id"]:
                        failures.append("key %s got two ids: %s, %s" % (k, accepted[k], r["id"]))
                    accepted[k] = r["id"]
                else:
                    failures.append("submit %s: %d %s" % (k, code, r))
            time.sleep(max(0.0, deadline - time.time()))
            s.kill()
            kills += 1
        # 3. The last start: everything accepted finishes, once, with the reference outputs.
        s = Server(a.agentrt, a.src, data, log)
        for k in intended:
            if k not in accepted:
                code, r = s.request("POST", "/v1/jobs",
                                    {"yaml": WORKFLOW, "inputs": {"questions": QUESTIONS[intended[k]]}},
                                    {"Idempotency-Key": k})
                if code in (200, 201):
                    accepted[k] = r["id"]
        done = wait_all(s, list(accepted.values()), 900)
        for k, i in accepted.items():
            job = done.get(i)
            if job is None:
                failures.append("job %s (%s) did not finish" % (i, k))
            elif job["state"] != "succeeded":
                failures.append("job %s (%s) ended %s: %s" % (i, k, job["state"], job.get("error")))
            elif job["outputs"] != reference[intended[k]]:
                failures.append("job %s (%s) outputs %s, reference %s" %
                                (i, k, job["outputs"], reference[intended[k]]))
        code, listing = s.request("GET", "/v1/jobs?limit=1000")
        listed = [j["id"] for j in listing["jobs"]]
        if sorted(listed) != sorted(accepted.values()):
            failures.append("job list %s differs from the accepted jobs %s" %
                            (sorted(listed), sorted(accepted.values())))
        resumes = sum(done[i]["resumes"] for i in accepted.values() if i in done)
        rc = s.stop()
        if rc != 0:
            failures.append("serve exited %d after SIGTERM" % rc)
        print("crash test: %d kills, %d jobs accepted of %d intended, %d resumes in all" %
              (kills, len(accepted), len(intended), resumes))
        if failures:
            print("FAILED:\n  " + "\n  ".join(failures))
            print("server log tail:\n" + open(log).read()[-6000:])
            return 1
        print("crash test: ok")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
