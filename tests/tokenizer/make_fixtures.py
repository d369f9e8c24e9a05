#!/usr/bin/env python3
"""Makes the golden tokenizer fixtures from Hugging Face `tokenizers` and `transformers`.

    python3 tests/tokenizer/make_fixtures.py --tokenizers DIR --out OUTDIR

DIR holds one subfolder per tokenizer (default: qwen3, llama3_1, llama3_2), each with
tokenizer.json and tokenizer_config.json. For each NAME it writes:
  OUTDIR/NAME.ids.jsonl     per corpus line: ids without/with special tokens, decodes
  OUTDIR/NAME.decode.jsonl  decodes of id sequences that cut UTF-8 characters (lossy U+FFFD)
  OUTDIR/NAME.chat.jsonl    apply_chat_template(tokenize=False) per conversation case, + ids
  OUTDIR/NAME.bench.json    encode throughput of `tokenizers` over the corpus (the baseline)
Every case is wrapped in try/except; failures are recorded in the output and summarised.
Without transformers (or with --chat-renderer jinja2) chat templates are rendered with
jinja2 the way transformers does it; the output records which renderer was used.

Conversation cases (conversations.json) may name the tokenizers they run for ("tokenizers")
and those whose template must raise on them ("expect_error"; the row then keeps the error,
which is not counted as a failure). TOKENIZER_KWARGS are added to every case's kwargs of that
tokenizer, e.g. a fixed date_string so Llama-3.2's dated system header does not follow the day.
"""
import argparse
import json
import os
import platform
import random
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
# Template kwargs passed to every chat case of a tokenizer (case kwargs take precedence).
TOKENIZER_KWARGS = {"llama3_2": {"date_string": "26 Jul 2024"}}
# The GPU machine has no network: never let transformers try the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def versions():
    out = {"python": platform.python_version()}
    for mod in ("tokenizers", "transformers", "jinja2"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception as e:  # noqa: BLE001
            out[mod] = f"unavailable ({type(e).__name__})"
    return out


def read_corpus(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def short_error(e):
    return f"{type(e).__name__}: {e}"


# ---------------------------------------------------------------- token ids and decodes
def make_ids(tok, corpus, summary):
    rows = []
    for i, text in enumerate(corpus):
        row = {"i": i, "text": text}
        try:
            ids = tok.encode(text, add_special_tokens=False).ids
            row["ids"] = ids
            row["ids_special"] = tok.encode(text, add_special_tokens=True).ids
            row["decoded"] = tok.decode(ids, skip_special_tokens=False)
            row["decoded_skip_special"] = tok.decode(ids, skip_special_tokens=True)
        except Exception as e:  # noqa: BLE001 - record every failure, keep going
            row["error"] = short_error(e)
            summary["errors"].append(f"ids[{i}]: {row['error']}")
        rows.append(row)
    return rows


def make_decodes(tok, corpus, summary):
    """Decodes of single tokens and random windows: many cut multi-byte characters."""
    rng = random.Random(7)
    vocab_size = tok.get_vocab_size(with_added_tokens=True)
    cases = []
    for text in corpus:
        if any(ord(c) > 0x7F for c in text):
            ids = tok.encode(text, add_special_tokens=False).ids
            for _ in range(2):
                a = rng.randrange(len(ids))
                b = min(len(ids), a + rng.randint(1, 6))
                cases.append(ids[a:b])
    for _ in range(60):
        cases.append([rng.randrange(vocab_size) for _ in range(rng.randint(1, 12))])
    rows = []
    for k, ids in enumerate(cases):
        for skip in (False, True):
            row = {"ids": ids, "skip_special": skip}
            try:
                row["text"] = tok.decode(ids, skip_special_tokens=skip)
            except Exception as e:  # noqa: BLE001
                row["error"] = short_error(e)
                summary["errors"].append(f"decode[{k}]: {row['error']}")
            rows.append(row)
    return rows


# ---------------------------------------------------------------- chat templates
def jinja_render(config, messages, tools, add_generation_prompt, kwargs):
    """Renders like transformers' chat template utils (sandboxed jinja2, trim/lstrip blocks)."""
    import jinja2
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return time.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    template = env.from_string(config["chat_template"])
    special = {k: config.get(k) for k in ("bos_token", "eos_token", "unk_token", "pad_token")}
    special = {k: (v["content"] if isinstance(v, dict) else v) for k, v in special.items()}
    return template.render(messages=messages, tools=tools,
                           add_generation_prompt=add_generation_prompt, **special, **kwargs)


def load_transformers_tokenizer(tok_dir, summary):
    try:
        from transformers import AutoTokenizer
        return AutoTokenizer.from_pretrained(tok_dir)
    except Exception as e:  # noqa: BLE001
        summary["errors"].append(f"AutoTokenizer.from_pretrained({tok_dir}): {short_error(e)}")
        return None


def render_transformers(hf, messages, tools, add_generation_prompt, kwargs):
    out = hf.apply_chat_template(messages, tools=tools, tokenize=False,
                                 add_generation_prompt=add_generation_prompt, **kwargs)
    if isinstance(out, str):
        return out
    if isinstance(out, list) and len(out) == 1 and isinstance(out[0], str):
        return out[0]
    raise TypeError(f"apply_chat_template returned {type(out).__name__}, expected str")


def make_chat(name, tok, tok_dir, cases, renderer, summary):
    with open(os.path.join(tok_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        config = json.load(f)
    hf = load_transformers_tokenizer(tok_dir, summary) if renderer == "transformers" else None
    used = "transformers" if hf is not None else "jinja2"
    if renderer == "transformers" and hf is None:
        summary["errors"].append("chat: transformers unavailable, fell back to jinja2")
    rows = []
    for case in cases:
        if name not in case.get("tokenizers", [name]):
            continue
        kwargs = {**TOKENIZER_KWARGS.get(name, {}), **case.get("kwargs", {})}
        expect_error = name in case.get("expect_error", [])
        row = {"name": case["name"], "messages": case["messages"], "tools": case.get("tools"),
               "add_generation_prompt": case.get("add_generation_prompt", False),
               "kwargs": kwargs, "renderer": used}
        try:
            args = (json.loads(json.dumps(case["messages"])), case.get("tools"),
                    row["add_generation_prompt"], kwargs)
            if hf is not None:
                row["text"] = render_transformers(hf, *args)
            else:
                row["text"] = jinja_render(config, *args)
            if tok is not None:
                row["ids"] = tok.encode(row["text"], add_special_tokens=False).ids
            if expect_error:
                summary["errors"].append(f"chat[{case['name']}]: rendered, expected an error")
        except Exception as e:  # noqa: BLE001
            row["error"] = short_error(e)
            if expect_error:
                row["expected_error"] = True
            else:
                summary["errors"].append(f"chat[{case['name']}]: {row['error']}")
        rows.append(row)
    return rows


# ---------------------------------------------------------------- benchmark
def best_of(fn, min_seconds):
    best, runs, start = float("inf"), 0, time.perf_counter()
    while runs < 3 or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return best, runs


def make_bench(tok, corpus, min_seconds):
    import tokenizers
    nbytes = sum(len(t.encode("utf-8")) for t in corpus)
    big = "\n".join(corpus * 20)
    big_bytes = len(big.encode("utf-8"))
    ntokens = sum(len(tok.encode(t, add_special_tokens=False).ids) for t in corpus)

    def loop():
        for t in corpus:
            tok.encode(t, add_special_tokens=False)

    def batch():
        tok.encode_batch(corpus, add_special_tokens=False)

    def whole():
        tok.encode(big, add_special_tokens=False)

    result = {"tokenizers_version": tokenizers.__version__, "python": platform.python_version(),
              "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
              "corpus_lines": len(corpus), "corpus_bytes": nbytes, "corpus_tokens": ntokens,
              "note": "best-of timings with a warm BPE cache; batch uses all cores (rayon)"}
    for key, fn, size in (("single_thread_loop", loop, nbytes), ("encode_batch", batch, nbytes),
                          ("single_call_20x_corpus", whole, big_bytes)):
        fn()  # warm the cache
        secs, runs = best_of(fn, min_seconds)
        result[key] = {"seconds": secs, "runs": runs, "bytes": size, "mb_per_s": size / secs / 1e6}
    return result


# ---------------------------------------------------------------- driver
def run_one(name, args, corpus, cases):
    summary = {"name": name, "versions": versions(), "errors": []}
    tok_dir = os.path.join(args.tokenizers, name)
    tok = None
    try:
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(os.path.join(tok_dir, "tokenizer.json"))
    except Exception as e:  # noqa: BLE001
        summary["errors"].append(f"tokenizers load: {short_error(e)}")
    if tok is not None:
        rows = make_ids(tok, corpus, summary)
        write_jsonl(os.path.join(args.out, f"{name}.ids.jsonl"), rows)
        summary["ids_rows"] = len(rows)
        try:
            rows = make_decodes(tok, corpus, summary)
            write_jsonl(os.path.join(args.out, f"{name}.decode.jsonl"), rows)
            summary["decode_rows"] = len(rows)
        except Exception as e:  # noqa: BLE001
            summary["errors"].append(f"decodes: {short_error(e)}")
    rows = make_chat(name, tok, tok_dir, cases, args.chat_renderer, summary)
    write_jsonl(os.path.join(args.out, f"{name}.chat.jsonl"), rows)
    summary["chat_rows"] = len(rows)
    summary["chat_ok"] = sum(1 for r in rows if "text" in r)
    summary["chat_expected_errors"] = sum(1 for r in rows if r.get("expected_error"))
    if tok is not None and args.bench_seconds > 0:
        try:
            bench = make_bench(tok, corpus, args.bench_seconds)
            with open(os.path.join(args.out, f"{name}.bench.json"), "w") as f:
                json.dump(bench, f, indent=2)
            summary["bench_mb_per_s"] = {k: round(v["mb_per_s"], 2) for k, v in bench.items()
                                         if isinstance(v, dict)}
        except Exception as e:  # noqa: BLE001
            summary["errors"].append(f"bench: {short_error(e)}")
    return summary


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tokenizers", required=True, help="folder with one subfolder per tokenizer")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--names", default="qwen3,llama3_1,llama3_2")
    p.add_argument("--corpus", default=os.path.join(HERE, "corpus.jsonl"))
    p.add_argument("--conversations", default=os.path.join(HERE, "conversations.json"))
    p.add_argument("--chat-renderer", choices=["transformers", "jinja2"], default="transformers")
    p.add_argument("--bench-seconds", type=float, default=2.0, help="0 skips the benchmark")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    corpus = read_corpus(args.corpus)
    with open(args.conversations, encoding="utf-8") as f:
        cases = json.load(f)
    summaries = []
    for name in args.names.split(","):
        try:
            summaries.append(run_one(name, args, corpus, cases))
        except Exception:  # noqa: BLE001
            summaries.append({"name": name, "errors": [traceback.format_exc()]})
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summaries, f, indent=2, ensure_ascii=False)
    failed = 0
    for s in summaries:
        print(f"== {s['name']}: ids={s.get('ids_rows', 0)} decode={s.get('decode_rows', 0)} "
              f"chat={s.get('chat_ok', 0)}/{s.get('chat_rows', 0)} "
              f"bench={s.get('bench_mb_per_s', '-')} errors={len(s['errors'])}")
        for e in s["errors"]:
            print("   ", e)
        failed += len(s["errors"])
    print(f"wrote {args.out}; {failed} error(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
