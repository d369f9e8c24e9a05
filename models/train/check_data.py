#!/usr/bin/env python3
"""Checks the tiny-calc data pipeline without torch (runs on any machine with python3;
the template comparison also needs jinja2).

  python3 models/train/check_data.py [--n 3000]

- every problem's answer, re-derived by an independent solver that reads only the problem
  text, equals the generator's answer; the solution's calculator calls, run through the
  reference calculator, give the values the solution claims;
- each problem needs exactly `ops` operations and has `distractors` unneeded facts;
- tool calls in the rendered text are well-formed JSON for the calculator tool;
- the Python port of Qwen3's template equals the Jinja template (as transformers runs it)
  byte for byte, on full conversations, partial ones and generation prompts;
- training samples are cut only at safe places and their targets are the replies;
- the calculator's contract on edge cases.
"""
import argparse
import json
import random
import re
import sys
from collections import Counter

import calculator
import chat_format as cf
import problems as pg

MUL = {v: k for k, v in pg.MUL_WORDS.items()}
DIV = {v: k for k, v in pg.DIV_WORDS.items()}
FACT_RES = [
    (re.compile(r"^(\w+) has (\d+) (\w+)\.$"), "given"),
    (re.compile(r"^(\w+) has (\d+) more (\w+) than (\w+)\.$"), "add"),
    (re.compile(r"^(\w+) has (\d+) fewer (\w+) than (\w+)\.$"), "sub"),
    (re.compile(r"^(\w+) has (twice|three times|four times|five times) as many (\w+) as (\w+)\.$"), "mul"),
    (re.compile(r"^(\w+) has (half|a third|a quarter) as many (\w+) as (\w+)\.$"), "div"),
    (re.compile(r"^(\w+) has as many (\w+) as (\w+) and (\w+) together\.$"), "sum"),
    (re.compile(r"^(\w+) has as many (\w+) as (\w+) has more than (\w+)\.$"), "diff"),
]


def solve_from_text(text):
    """Independent solver: parses the facts back into equations and evaluates them."""
    sentences = re.findall(r"[^.?]+[.?]", text)
    question = sentences[-1].strip()
    m = re.match(r"^How many (\w+) does (\w+) have\?$", question)
    assert m, question
    item, person = m.groups()
    eqs = {}
    for s in sentences[:-1]:
        s = s.strip()
        for rx, kind in FACT_RES:
            g = rx.match(s)
            if g:
                break
        else:
            raise AssertionError(f"unparsed fact: {s!r}")
        g = g.groups()
        if kind == "given":
            key, val = (g[0], g[2]), ("given", int(g[1]))
        elif kind in ("add", "sub"):
            key, val = (g[0], g[2]), (kind, (g[3], g[2]), int(g[1]))
        elif kind == "mul":
            key, val = (g[0], g[2]), (kind, (g[3], g[2]), MUL[g[1]])
        elif kind == "div":
            key, val = (g[0], g[2]), (kind, (g[3], g[2]), DIV[g[1]])
        else:
            key, val = (g[0], g[1]), (kind, (g[2], g[1]), (g[3], g[1]))
        assert key not in eqs, f"two facts about {key}"
        eqs[key] = val

    memo = {}
    used = set()

    def value(key):
        if key in memo:
            return memo[key]
        used.add(key)
        e = eqs[key]
        k = e[0]
        if k == "given":
            v = e[1]
        elif k == "add":
            v = value(e[1]) + e[2]
        elif k == "sub":
            v = value(e[1]) - e[2]
        elif k == "mul":
            v = value(e[1]) * e[2]
        elif k == "div":
            a = value(e[1])
            assert a % e[2] == 0
            v = a // e[2]
        elif k == "sum":
            v = value(e[1]) + value(e[2])
        else:
            v = value(e[1]) - value(e[2])
        assert pg.MIN_VALUE <= v <= pg.MAX_VALUE, (key, v)
        memo[key] = v
        return v

    ans = value((person, item))
    n_ops = sum(1 for k in used if eqs[k][0] != "given")
    return ans, n_ops, len(eqs) - len(used), eqs


def check_problems(n):
    rng = random.Random(1)
    stats = Counter()
    for t in range(n):
        ops = rng.randint(1, 10)
        dis = rng.randint(0, ops + 2)
        p = pg.generate(rng, ops, dis)
        ans, n_ops, unused, eqs = solve_from_text(p.text())
        assert ans == p.answer, (p.text(), ans, p.answer)
        assert n_ops == ops, (p.text(), n_ops, ops)
        assert len(p.needed) == ops
        # Unneeded facts: the distractors (every one of them), nothing else.
        assert unused == dis, (p.text(), unused, dis)
        assert len(eqs) == len(p.facts)
        # Replay the solution with the calculator: values in order, inputs known before use.
        known = {(q.person, q.item) for q in p.facts if q.op == "given"}
        for content, exprs, results in pg.solution_turns(p)[:-1]:
            lines = content.split("\n")
            assert len(lines) == len(exprs) == len(results)
            for line, e, r in zip(lines, exprs, results):
                assert calculator.evaluate(e) == r, (e, r)
                lhs, rhs = line.split(" = ")
                for who, what in re.findall(r"(\w+)'s (\w+)", rhs):
                    assert (who, what) in known, (line, p.text())
            for line in lines:
                who, what = re.match(r"(\w+)'s (\w+) =", line).groups()
                known.add((who, what))
        final = pg.solution_turns(p)[-1][0]
        assert final.endswith(f"Answer: {p.answer}")
        assert len(pg.solution_turns(p)) - 1 == max(q.level for q in p.needed)
        stats[("turns", len(pg.solution_turns(p)) - 1)] += 1
        stats[("ops_by_kind", tuple(sorted(Counter(q.op for q in p.needed).items())))] += 0
        for q in p.needed:
            stats[("op", q.op)] += 1
        if dis:
            stats["with_distractors"] += 1
            assert any(q.item != p.target.item for q in p.facts) or \
                any(q.person not in {x.person for x in p.needed} for q in p.facts)
    ops_counts = {k[1]: v for k, v in stats.items() if isinstance(k, tuple) and k[0] == "op"}
    turns = {k[1]: v for k, v in stats.items() if isinstance(k, tuple) and k[0] == "turns"}
    print(f"problems: {n} ok; op kinds {ops_counts}; turns {dict(sorted(turns.items()))}")


def check_tool_calls_and_pieces(n):
    rng = random.Random(2)
    modes = Counter()
    lengths = Counter()
    for t in range(n):
        ops, dis = pg.sample_train_difficulty(rng)
        p = pg.generate(rng, ops, dis)
        msgs = cf.conversation(p, cf.SYSTEM_PROMPTS[t % len(cf.SYSTEM_PROMPTS)])
        text = cf.render(msgs, cf.TOOLS)
        body = text.split("<|im_start|>user\n", 1)[1]  # past the tools section's example
        calls = re.findall(r"<tool_call>\n(.*?)\n</tool_call>", body, re.S)
        assert len(calls) == ops
        for c in calls:
            obj = json.loads(c)
            assert obj["name"] == "calculator" and set(obj["arguments"]) == {"expression"}
            assert not calculator.evaluate(obj["arguments"]["expression"]).startswith("error")
        assert text.count("<tool_response>") == ops
        assert re.search(r"Answer: (\d+)<\|im_end\|>\n$", text).group(1) == str(p.answer)
        for name, sample in (("template", cf.sample_full_template(msgs, cf.TOOLS)),
                             ("append", cf.sample_append(msgs, cf.TOOLS)),
                             ("turn", cf.sample_turn(msgs, cf.TOOLS, rng.choice(
                                 [i for i, m in enumerate(msgs) if m["role"] == "assistant"])))):
            modes[name] += 1
            targets = [s for s, tg in sample if tg]
            assert targets and all(s.endswith("<|im_end|>") for s in targets)
            for k, (s, tg) in enumerate(sample):
                if tg:
                    prev = sample[k - 1][0]
                    assert prev.endswith("\n"), repr(prev[-20:])
                    assert re.match(r"[A-Za-z]|<tool_call>", s), repr(s[:20])
            if name == "template":
                assert "".join(s for s, _ in sample) == text
                assert len(targets) == len(pg.solution_turns(p))
            if name == "append":
                full = "".join(s for s, _ in sample)
                assert full.count(cf.EMPTY_THINK) == len(targets)
                lengths[ops] = max(lengths[ops], len(full))
    print(f"tool calls and samples: {n} problems ok; max chars by ops "
          f"{dict(sorted(lengths.items()))}")


def check_template(n):
    try:
        import jinja2
        import jinja2.ext
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError:
        print("template: jinja2 missing, skipped")
        return
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda x, **kw: json.dumps(x, ensure_ascii=False)
    tmpl = env.from_string(cf.chat_template_text())
    rng = random.Random(3)
    checked = 0
    for t in range(n):
        p = pg.generate(rng, rng.randint(1, 6), rng.randint(0, 4))
        system = cf.SYSTEM_PROMPTS[t % len(cf.SYSTEM_PROMPTS)]
        msgs = cf.conversation(p, system)
        cuts = [len(msgs)] + [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
        for cut in cuts:
            sub = msgs[:cut]
            for tools in (cf.TOOLS, None):
                for gen, think in ((False, None), (True, False), (True, None), (True, True)):
                    kw = dict(messages=sub, tools=tools, add_generation_prompt=gen,
                              bos_token="", eos_token="<|im_end|>")
                    if think is not None:
                        kw["enable_thinking"] = think
                    ref = tmpl.render(**kw)
                    mine = cf.render(sub, tools, gen, think)
                    assert ref == mine, f"template mismatch\n{ref!r}\n{mine!r}"
                    checked += 1
    print(f"template: {checked} renders equal to the Jinja template")


def check_calculator():
    cases = {"7 + 3": "10", "2*(3+4)": "14", "12 / 4": "3", "7 / 2": "error: inexact division",
             "1 / 0": "error: division by zero", "-5 + 2": "-3", "2 - -3": "5", "": "error: invalid expression",
             "3 +": "error: invalid expression", "(1": "error: invalid expression",
             "2 ** 3": "error: invalid expression", "1.5": "error: invalid expression",
             "999999999999999 + 1": "error: number too large", "10 - 2 - 3": "5",
             "100 / 10 / 5": "2", " 8 * 9 ": "72", "-(2 + 3) * 4": "-20"}
    for e, want in cases.items():
        got = calculator.evaluate(e)
        assert got == want, (e, got, want)
    print(f"calculator: {len(cases)} cases ok")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    args = ap.parse_args()
    check_calculator()
    check_problems(args.n)
    check_tool_calls_and_pieces(args.n)
    check_template(max(50, args.n // 20))
    rng = random.Random(0)
    p = pg.generate(rng, 4, 3)
    print("\nexample:\n" + cf.render(cf.conversation(p), cf.TOOLS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
