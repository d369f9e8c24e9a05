#!/usr/bin/env python3
"""Trains tiny-calc end to end on one GPU: tokenizer, data, model, evaluation, golden data.

  PYTHONUNBUFFERED=1 python3 models/train/train.py --out OUT_DIR

writes OUT_DIR/tiny-calc/ (config.json, generation_config.json, model.safetensors,
tokenizer.json, tokenizer_config.json), OUT_DIR/eval.json (+ eval.md, the table),
OUT_DIR/golden.json and OUT_DIR/checks.json. The model is saved before anything is
evaluated; each later stage logs its own failure and the script goes on.
Needs torch, transformers (5.x) and tokenizers; models/tiny-calc/README.md has the command
that made the committed model.
"""
import argparse
import json
import math
import os
import random
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import build_tokenizer  # noqa: E402
import chat_format as cf  # noqa: E402
import dataset  # noqa: E402
import problems as pg  # noqa: E402

T0 = time.time()


def log(msg):
    print(f"[{time.time() - T0:7.1f}s] {msg}", flush=True)


def eval_levels(n):
    levels = []
    for ops, dis in pg.EVAL_LEVELS:
        rng = random.Random(9_000_000 + 1000 * ops + dis)
        probs = [pg.generate(rng, ops, dis) for _ in range(n)]
        levels.append((f"ops={ops} distractors={dis}", ops, dis, probs))
    return levels


def model_config(vocab, args, eot, im_end):
    from transformers import Qwen2Config
    return Qwen2Config(
        vocab_size=vocab, hidden_size=args.hidden, intermediate_size=args.intermediate,
        num_hidden_layers=args.layers, num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads, max_position_embeddings=4096, rope_theta=10000.0,
        rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False,
        initializer_range=0.02, bos_token_id=None, eos_token_id=[im_end, eot],
        pad_token_id=eot)


def batches(lengths, batch, rng):
    """Length-grouped batches of indices, in random order (one epoch)."""
    perm = rng.permutation(len(lengths))
    mega = batch * 64
    out = []
    for i in range(0, len(perm), mega):
        chunk = perm[i:i + mega]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        out.extend(chunk[k:k + batch] for k in range(0, len(chunk), batch)
                   if len(chunk[k:k + batch]) == batch)
    rng.shuffle(out)
    return out


def train_model(args, tokens, mask, offsets, lengths, vocab, eot, im_end):
    from transformers import AutoModelForCausalLM
    dev = "cuda"
    cfg = model_config(vocab, args, eot, im_end)
    torch.manual_seed(args.seed)
    if args.init_from:
        model = AutoModelForCausalLM.from_pretrained(args.init_from, dtype=torch.float32,
                                                     attn_implementation="sdpa").to(dev)
        assert model.config.vocab_size == vocab
        log(f"continuing from {args.init_from}")
    else:
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32,
                                                 attn_implementation="sdpa").to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params / 1e6:.2f}M parameters, config {cfg.to_dict()}")
    tok_gpu = torch.from_numpy(tokens.astype(np.int64)).to(dev)
    mask_gpu = torch.from_numpy(mask.astype(np.bool_)).to(dev)
    off_gpu = torch.from_numpy(offsets).to(dev)
    len_gpu = torch.from_numpy(lengths.astype(np.int64)).to(dev)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=True)
    rng = np.random.default_rng(args.seed)
    epoch_batches = []
    total = args.steps if args.steps > 0 else 10 ** 9
    warmup = args.warmup
    step = 0
    t_start = time.time()
    tokens_seen = 0
    targets_seen = 0
    ema = None

    def lr_at(s):
        if s < warmup:
            return args.lr * (s + 1) / warmup
        p = min(1.0, (s - warmup) / max(1, total - warmup))
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))

    model.train()
    while step < total:
        if not epoch_batches:
            epoch_batches = batches(lengths, args.batch, rng)
            log(f"new epoch: {len(epoch_batches)} batches")
        idx_np = epoch_batches.pop()
        idx = torch.from_numpy(idx_np).to(dev)
        L = int(lengths[idx_np].max())
        pos = torch.arange(L, device=dev)
        valid = pos[None, :] < len_gpu[idx][:, None]
        gather = (off_gpu[idx][:, None] + pos[None, :]).clamp(max=len(tokens) - 1)
        ids = torch.where(valid, tok_gpu[gather], torch.full_like(gather, eot))
        sel = (mask_gpu[gather] & valid)[:, 1:]
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        # Right padding and causal attention: no row attends to its pads, so no mask is
        # needed (flash attention); only the reply positions go through the LM head.
        with torch.autocast("cuda", dtype=torch.bfloat16):
            h = model.model(input_ids=ids).last_hidden_state
            logits = model.lm_head(h[:, :-1][sel])
        labels = ids[:, 1:][sel]
        loss = F.cross_entropy(logits.float(), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_seen += int(lengths[idx_np].sum())
        targets_seen += int(labels.numel())
        if step == 10:
            torch.cuda.synchronize()
            t_10 = time.time()
        if step == 60 and args.steps <= 0:
            torch.cuda.synchronize()
            per = (time.time() - t_10) / 50
            total = max(warmup + 100, int((args.train_seconds - (t_10 - t_start)) / per) + 10)
            log(f"step time {per * 1000:.1f} ms -> {total} steps for {args.train_seconds}s")
        if step % 100 == 0 or step == total:
            lv = float(loss.detach())
            ema = lv if ema is None else 0.9 * ema + 0.1 * lv
            el = time.time() - t_start
            log(f"step {step}/{total} loss {lv:.4f} (ema {ema:.4f}) lr {lr_at(step):.2e} "
                f"{tokens_seen / el / 1e6:.2f}M tok/s ({targets_seen / el / 1e6:.2f}M target)")
    el = time.time() - t_start
    log(f"trained {step} steps in {el:.1f}s: {tokens_seen / 1e6:.1f}M tokens "
        f"({targets_seen / 1e6:.1f}M target), {tokens_seen / el / 1e6:.2f}M tok/s")
    stats = dict(steps=step, seconds=round(el, 1), tokens=tokens_seen, target_tokens=targets_seen,
                 final_loss_ema=ema, params=n_params)
    return model, stats


def save_model(model, out_dir, eot, im_end):
    from transformers import GenerationConfig
    model = model.to(torch.bfloat16).cpu()
    model.config.dtype = torch.bfloat16
    model.save_pretrained(out_dir, safe_serialization=True)
    gc = GenerationConfig(bos_token_id=None, eos_token_id=[im_end, eot], pad_token_id=eot,
                          do_sample=True, temperature=0.8)
    gc.save_pretrained(out_dir)


def checks(model_dir, tok_fast, levels, log):
    """Template and tokenizer parity on the GPU machine (with real transformers)."""
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(model_dir)
    out = {"hf_tokenizer_class": type(hf).__name__}
    out["chat_template_is_qwen3"] = hf.chat_template == cf.chat_template_text()
    n_render = n_ids = 0
    bad = []
    for _, _, _, probs in levels:
        for p in probs[:20]:
            msgs = cf.conversation(p, random.choice(cf.SYSTEM_PROMPTS))
            cuts = [len(msgs)] + [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
            for cut in cuts:
                for gen, think in ((True, False), (False, None)):
                    kw = {} if think is None else {"enable_thinking": think}
                    ref = hf.apply_chat_template(msgs[:cut], tools=cf.TOOLS,
                                                 add_generation_prompt=gen, tokenize=False, **kw)
                    mine = cf.render(msgs[:cut], cf.TOOLS, gen, think)
                    n_render += 1
                    if ref != mine:
                        bad.append({"ref": ref, "mine": mine})
                    a = hf(ref, add_special_tokens=False)["input_ids"]
                    b = tok_fast.encode(ref, add_special_tokens=False).ids
                    n_ids += 1
                    if a != b:
                        bad.append({"ids_hf": a[:50], "ids_tok": b[:50]})
    out.update(renders=n_render, ids=n_ids, mismatches=len(bad), first_mismatches=bad[:3])
    # Pieces tokenized separately == whole text tokenized.
    rng = random.Random(5)
    n_pieces = 0
    bad_p = 0
    cache = {}
    for _ in range(300):
        ops, dis = pg.sample_train_difficulty(rng)
        s = cf.training_sample(rng, pg.generate(rng, ops, dis))
        (ids, _), = dataset.encode_pieces(tok_fast, [s], cache)
        whole = tok_fast.encode("".join(t for t, _ in s), add_special_tokens=False).ids
        n_pieces += 1
        bad_p += list(ids) != whole
    out.update(piece_samples=n_pieces, piece_mismatches=bad_p)
    log(f"checks: {json.dumps(out)[:2000]}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--samples", type=int, default=600_000)
    ap.add_argument("--tok-corpus", type=int, default=30_000)
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--max-len", type=int, default=1536)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--intermediate", type=int, default=768)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--steps", type=int, default=0, help="0: as many as --train-seconds allow")
    ap.add_argument("--train-seconds", type=float, default=240)
    ap.add_argument("--eval-problems", type=int, default=200)
    ap.add_argument("--eval-samples", type=int, default=16)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--eval-seconds", type=float, default=150)
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init-from", default="",
                    help="a trained model dir: keep its tokenizer and continue training it")
    ap.add_argument("--eval-only", default="",
                    help="a trained model dir: only run the checks, golden data and evaluation")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    model_dir = args.eval_only or os.path.join(args.out, "tiny-calc")
    log(f"args {vars(args)}; torch {torch.__version__}")
    summary = {"args": vars(args)}

    levels = eval_levels(args.eval_problems)
    if args.eval_only:
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    else:
        tok = train_all(args, levels, model_dir, summary)
    after_training(args, levels, model_dir, tok, summary)
    return 0


def train_all(args, levels, model_dir, summary):
    banned = {p.text() for _, _, _, probs in levels for p in probs}

    # Tokenizer.
    if args.init_from:
        import shutil
        from tokenizers import Tokenizer
        os.makedirs(model_dir, exist_ok=True)
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(args.init_from, f), os.path.join(model_dir, f))
        tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    else:
        rng = random.Random(args.seed + 77)
        corpus = []
        for _ in range(args.tok_corpus):
            ops, dis = pg.sample_train_difficulty(rng)
            p = pg.generate(rng, ops, dis)
            corpus.append("".join(t for t, _ in cf.training_sample(rng, p)))
        tok = build_tokenizer.train(corpus, args.vocab, model_dir)
    vocab_tok = tok.get_vocab_size(with_added_tokens=True)
    eot, im_end = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|im_end|>")
    log(f"tokenizer: {vocab_tok} tokens (eot {eot}, im_end {im_end}); example "
        f"{tok.encode('Ben has 12 more marbles than Mia.').tokens}")

    # Data.
    tokens, mask, offsets, lengths, dropped = dataset.build(
        os.path.join(model_dir, "tokenizer.json"), args.samples, args.seed, args.max_len,
        banned, args.workers)
    log(f"data: {len(lengths)} samples, {len(tokens) / 1e6:.1f}M tokens "
        f"({mask.sum() / 1e6:.1f}M target), mean len {lengths.mean():.0f}, max {lengths.max()}, "
        f"dropped {dropped} too long")
    summary["data"] = dict(samples=int(len(lengths)), tokens=int(len(tokens)),
                           target_tokens=int(mask.sum()), mean_len=float(lengths.mean()),
                           max_len=int(lengths.max()), dropped=int(dropped))

    vocab = ((vocab_tok + 63) // 64) * 64
    model, stats = train_model(args, tokens, mask, offsets, lengths, vocab, eot, im_end)
    summary["train"] = stats
    save_model(model, model_dir, eot, im_end)
    del model
    log(f"saved {sorted(os.listdir(model_dir))}")
    return tok


def after_training(args, levels, model_dir, tok, summary):
    def stage(name, fn):
        try:
            t = time.time()
            r = fn()
            log(f"stage {name} done in {time.time() - t:.1f}s")
            return r
        except Exception:
            log(f"stage {name} FAILED:\n{traceback.format_exc()}")
            summary.setdefault("failed", []).append(name)
            return None

    summary["checks"] = stage("checks", lambda: checks(model_dir, tok, levels, log))

    def golden():
        import golden as gm
        g = gm.make(model_dir, log, tok)
        with open(os.path.join(args.out, "golden.json"), "w") as f:
            json.dump(g, f)
    stage("golden", golden)

    def evaluation():
        import rollout
        from transformers import AutoModelForCausalLM
        hf = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).cuda().eval()
        fast = rollout.FastQwen2(hf)
        seqs = [tok.encode(cf.render(cf.conversation(p), cf.TOOLS)).ids
                for p in levels[3][3][:3]]
        diff = rollout.check_against_hf(fast, hf, seqs)
        log(f"FastQwen2 vs HF max |logit diff| {diff:.3g}")
        rows = rollout.evaluate(fast, tok, levels, args.eval_samples, args.temperature,
                                seed=args.seed, log=log,
                                deadline=time.time() + args.eval_seconds)
        res = {"fast_vs_hf_max_abs_logit_diff": diff, "temperature": args.temperature,
               "samples": args.eval_samples, "rows": rows}
        with open(os.path.join(args.out, "eval.json"), "w") as f:
            json.dump(res, f, indent=1)
        lines = ["| difficulty (ops, distractors) | problems | greedy | maj@1 | maj@4 | maj@16 "
                 "| pass@16 |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in rows:
            lines.append(f"| {r['ops']}, {r['distractors']} | {r['problems']} | "
                         f"{r['greedy']:.1%} | {r['maj1']:.1%} | {r['maj4']:.1%} | "
                         f"{r['maj16']:.1%} | {r['pass16']:.1%} |")
        with open(os.path.join(args.out, "eval.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
        log("\n" + "\n".join(lines))
        return res
    summary["eval"] = stage("eval", evaluation)
    summary["total_seconds"] = round(time.time() - T0, 1)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=str)
    log("done")


if __name__ == "__main__":
    sys.exit(main())
