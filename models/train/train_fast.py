#!/usr/bin/env python3
"""Faster tiny-calc training: continues a saved model (same architecture and tokenizer).

  PYTHONUNBUFFERED=1 python3 train_fast.py --out OUT --init-from ../tiny-calc \
      --train-until 330 --eval-until 430

What differs from train.py:
- Data is generated while the GPU trains: a fork pool (started before CUDA) keeps producing
  chunks of tokenized samples; fresh chunks are used first and, when none is ready, an
  already used chunk is drawn again (feeder.py). ops are drawn with --ops-weights.
- Batches hold a fixed budget of padded tokens (--batch-tokens), length-grouped within a
  chunk, rows right-padded to a multiple of 64 (causal attention alone: no row sees pads).
- The forward is plain torch over the HF model's own parameters (so save_pretrained writes
  the trained weights): one function per decoder layer, compiled once with torch.compile and
  reused by all 8 layers (regional compilation), and a compiled final norm + LM head + masked
  cross-entropy (labels -100 off the reply tokens). Before training, the eager plain-torch
  logits are checked against the HF model's (f32), and the compiled loss against the eager
  loss; any failure falls back (compiled -> eager plain torch -> HF forward).
- The schedule is time-based: training runs until --train-until seconds after start; the
  learning rate follows a linear warmup (--warmup steps) and a cosine over the elapsed
  fraction of the training window, down to 5%.
Then the model is saved (and tarred to $OUT/model.tgz if OUT is set), the producer is
stopped, and train.after_training runs the checks, the golden data and the evaluation
(deadline --eval-until seconds after start).
"""
import argparse
import json
import math
import os
import sys
import tarfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import train as base  # noqa: E402  (imports torch; base.T0 is the start time)
import dataset  # noqa: E402
import feeder  # noqa: E402

log = base.log
T0 = base.T0
DEFAULT_OPS_WEIGHTS = "1:0.08,2:0.16,3:0.16,4:0.16,5:0.13,6:0.12,7:0.10,8:0.09"


def rms(x, w, eps):
    dt = x.dtype
    x32 = x.float()
    x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return w * x32.to(dt)


def rope(x, cos, sin):  # x [B, h, S, hd]; cos/sin [S, hd] f32; computed in f32 as in HF
    half = x.shape[-1] // 2
    x32 = x.float()
    rot = torch.cat([-x32[..., half:], x32[..., :half]], dim=-1)
    return (x32 * cos + rot * sin).to(x.dtype)


def make_block(H, KV, hd, eps):
    rep = H // KV

    def block(x, cos_full, sin_full, ln1, wq, bq, wk, bk, wv, bv, wo, ln2, wg, wu, wd):
        B, S, _ = x.shape
        cos = cos_full[:S]
        sin = sin_full[:S]
        h = rms(x, ln1, eps)
        q = F.linear(h, wq, bq).view(B, S, H, hd).transpose(1, 2)
        k = F.linear(h, wk, bk).view(B, S, KV, hd).transpose(1, 2)
        v = F.linear(h, wv, bv).view(B, S, KV, hd).transpose(1, 2)
        q = rope(q, cos, sin)
        k = rope(k, cos, sin)
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        o = o.transpose(1, 2).reshape(B, S, H * hd)
        x = x + F.linear(o, wo)
        h = rms(x, ln2, eps)
        x = x + F.linear(F.silu(F.linear(h, wg)) * F.linear(h, wu), wd)
        return x

    return block


def make_head(eps):
    def head(x, norm_w, head_w, labels):
        logits = F.linear(rms(x, norm_w, eps), head_w)
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]),
                               labels.reshape(-1), ignore_index=-100)
    return head


class PlainQwen2:
    """Qwen2 forward in plain torch over an HF Qwen2ForCausalLM's parameters (shared)."""

    def __init__(self, hf):
        cfg = hf.config
        self.hf = hf
        self.H = cfg.num_attention_heads
        self.KV = cfg.num_key_value_heads
        self.hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.H
        self.eps = cfg.rms_norm_eps
        rp = getattr(cfg, "rope_parameters", None)
        theta = rp.get("rope_theta") if isinstance(rp, dict) else None
        theta = theta or getattr(cfg, "rope_theta", None) or 10000.0
        dev = hf.model.embed_tokens.weight.device
        inv = 1.0 / (theta ** (torch.arange(0, self.hd, 2, dtype=torch.int64, device=dev)
                               .float() / self.hd))
        pos = torch.arange(cfg.max_position_embeddings, device=dev).float()
        freqs = torch.outer(pos, inv)
        e = torch.cat([freqs, freqs], -1)
        self.cos, self.sin = e.cos().contiguous(), e.sin().contiguous()
        m = hf.model
        self.emb = m.embed_tokens.weight
        self.norm_w = m.norm.weight
        self.head_w = hf.lm_head.weight
        self.layer_w = []
        for layer in m.layers:
            a, mlp = layer.self_attn, layer.mlp
            self.layer_w.append((layer.input_layernorm.weight, a.q_proj.weight, a.q_proj.bias,
                                 a.k_proj.weight, a.k_proj.bias, a.v_proj.weight,
                                 a.v_proj.bias, a.o_proj.weight,
                                 layer.post_attention_layernorm.weight, mlp.gate_proj.weight,
                                 mlp.up_proj.weight, mlp.down_proj.weight))
        self.block_eager = make_block(self.H, self.KV, self.hd, self.eps)
        self.head_eager = make_head(self.eps)
        self.block = self.block_eager
        self.head = self.head_eager

    def compile(self):
        self.block = torch.compile(self.block_eager)
        self.head = torch.compile(self.head_eager)

    def use_eager(self):
        self.block = self.block_eager
        self.head = self.head_eager

    def hidden(self, ids, block):
        x = F.embedding(ids, self.emb)
        for w in self.layer_w:
            x = block(x, self.cos, self.sin, *w)
        return x

    def loss(self, ids, labels):
        return self.head(self.hidden(ids, self.block), self.norm_w, self.head_w, labels)

    def loss_eager(self, ids, labels):
        return self.head_eager(self.hidden(ids, self.block_eager), self.norm_w, self.head_w,
                               labels)

    @torch.no_grad()
    def logits_eager(self, ids):
        x = self.hidden(ids, self.block_eager)
        return F.linear(rms(x, self.norm_w, self.eps), self.head_w)


def hf_loss(hf):
    def fn(ids, labels):
        logits = hf(input_ids=ids, use_cache=False).logits
        return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]),
                               labels.reshape(-1), ignore_index=-100)
    return fn


def to_dev(a, dev):
    return torch.from_numpy(a).pin_memory().to(dev, non_blocking=True)


def parse_weights(s):
    out = []
    for part in s.split(","):
        o, w = part.split(":")
        out.append((int(o), float(w)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--init-from", required=True)
    ap.add_argument("--train-until", type=float, default=330,
                    help="training stops this many seconds after the start of the script")
    ap.add_argument("--eval-until", type=float, default=430,
                    help="evaluation deadline, seconds after the start of the script")
    ap.add_argument("--batch-tokens", type=int, default=196_608)
    ap.add_argument("--pad-to", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--max-len", type=int, default=1536)
    ap.add_argument("--ops-weights", default=DEFAULT_OPS_WEIGHTS)
    ap.add_argument("--chunk", type=int, default=4000)
    ap.add_argument("--workers", type=int, default=13)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--eval-problems", type=int, default=48)
    ap.add_argument("--eval-samples", type=int, default=16)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--log-every", type=int, default=100)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    model_dir = os.path.join(args.out, "tiny-calc")
    os.makedirs(model_dir, exist_ok=True)
    out_env = os.environ.get("OUT", "")
    log(f"args {vars(args)}; torch {torch.__version__}; cpus {os.cpu_count()}")
    summary = {"args": vars(args), "phases": {}}
    phases = summary["phases"]

    # Tokenizer (kept) and the eval problems (held out of training).
    import shutil
    from tokenizers import Tokenizer
    t = time.time()
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(args.init_from, f), os.path.join(model_dir, f))
    tok_path = os.path.join(model_dir, "tokenizer.json")
    banned = frozenset(p.text() for _, _, _, probs in base.eval_levels(200) for p in probs)
    levels = base.eval_levels(args.eval_problems)
    ops_weights = parse_weights(args.ops_weights)

    # Producer first (fork before CUDA is initialized).
    pool, it = dataset.start_stream(tok_path, banned, args.workers, args.seed, ops_weights,
                                    args.max_len, chunk=args.chunk)
    phases["setup_s"] = round(time.time() - t, 1)
    log(f"producer started: {args.workers} workers, chunks of {args.chunk}, ops weights "
        f"{ops_weights}")
    tok = Tokenizer.from_file(tok_path)
    eot, im_end = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|im_end|>")

    # Model.
    from transformers import AutoModelForCausalLM
    dev = "cuda"
    t = time.time()
    torch.manual_seed(args.seed)
    hf = AutoModelForCausalLM.from_pretrained(args.init_from, dtype=torch.float32,
                                              attn_implementation="sdpa").to(dev)
    hf.train()
    n_params = sum(p.numel() for p in hf.parameters())
    log(f"loaded {args.init_from}: {n_params / 1e6:.2f}M parameters, vocab "
        f"{hf.config.vocab_size}")
    phases["load_s"] = round(time.time() - t, 1)

    fd = feeder.Feeder(it, args.batch_tokens, args.pad_to, eot, args.seed, log=log)
    t = time.time()
    fd.wait(300)
    log(f"first chunk after {time.time() - t:.1f}s")

    # 1) Plain-torch forward vs HF (f32, eager).
    mode = "plain"
    plain = None
    t = time.time()
    try:
        plain = PlainQwen2(hf)
        ids_np, lab_np, _, _ = fd.next_batch()
        ids_c = torch.from_numpy(ids_np[:4]).to(dev)
        with torch.no_grad():
            ref = hf(input_ids=ids_c, use_cache=False).logits.float()
            mine = plain.logits_eager(ids_c).float()
        diff = float((ref - mine).abs().max())
        log(f"plain torch vs HF logits (f32, {tuple(ids_c.shape)}): max |diff| {diff:.3g}")
        summary["plain_vs_hf_max_abs_logit_diff"] = diff
        if not diff < 2e-3:
            raise RuntimeError(f"plain forward differs from HF by {diff}")
    except Exception:
        log(f"plain forward check FAILED, training with the HF forward:\n"
            f"{traceback.format_exc()}")
        mode = "hf"
    phases["check_s"] = round(time.time() - t, 1)

    decay = [p for n, p in hf.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in hf.named_parameters() if p.dim() < 2]
    params = decay + no_decay
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=True)

    def fwd_bwd(loss_fn, ids, labels):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = loss_fn(ids, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        return loss

    # 2) Compile (regional) and check it against eager on two batch shapes; no optimizer
    #    steps here.
    t = time.time()
    if mode == "plain" and not args.no_compile:
        try:
            plain.compile()
            shapes = []
            for k in range(2):
                ids_np, lab_np, _, _ = fd.next_batch()
                while shapes and (ids_np.shape[0] == shapes[0][0]
                                  or ids_np.shape[1] == shapes[0][1]):
                    ids_np, lab_np, _, _ = fd.next_batch()
                shapes.append(ids_np.shape)
                ids, labels = to_dev(ids_np, dev), to_dev(lab_np, dev)
                with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
                    le = float(plain.loss_eager(ids, labels))
                t1 = time.time()
                lc = float(fwd_bwd(plain.loss, ids, labels))
                torch.cuda.synchronize()
                log(f"compiled step {k} {ids_np.shape}: {time.time() - t1:.1f}s, loss "
                    f"compiled {lc:.5f} eager {le:.5f}")
                if not abs(lc - le) <= 0.02 + 0.05 * abs(le):
                    raise RuntimeError(f"compiled loss {lc} vs eager {le}")
            for k in range(2):  # timing after compilation
                ids_np, lab_np, _, _ = fd.next_batch()
                t1 = time.time()
                fwd_bwd(plain.loss, to_dev(ids_np, dev), to_dev(lab_np, dev))
                torch.cuda.synchronize()
                log(f"compiled step {ids_np.shape}: {(time.time() - t1) * 1000:.0f} ms")
            mode = "plain+compile"
        except Exception:
            log(f"compile FAILED, training eager:\n{traceback.format_exc()}")
            plain.use_eager()
            torch._dynamo.reset()
        opt.zero_grad(set_to_none=True)
    phases["compile_s"] = round(time.time() - t, 1)
    loss_fn = plain.loss if mode.startswith("plain") else hf_loss(hf)
    summary["train_mode"] = mode
    log(f"training mode: {mode}; producer so far {fd.stats()}")

    # 3) Train until --train-until.
    t_start = time.time()
    t_end = T0 + args.train_until
    window = max(1.0, t_end - t_start)
    log(f"training window {window:.0f}s")

    def lr_at(step, now):
        p = min(1.0, max(0.0, (now - t_start) / window))
        w = min(1.0, (step + 1) / args.warmup)
        return args.lr * w * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))

    step = 0
    tokens_seen = targets_seen = padded_seen = 0
    ema = None
    last_t, last_tok = t_start, 0
    losses = []
    data_wait = 0.0
    try:
        while True:
            now = time.time()
            if now >= t_end:
                break
            td = time.time()
            ids_np, lab_np, n_tok, n_tgt = fd.next_batch()
            data_wait += time.time() - td
            ids, labels = to_dev(ids_np, dev), to_dev(lab_np, dev)
            lr = lr_at(step, now)
            for g in opt.param_groups:
                g["lr"] = lr
            loss = fwd_bwd(loss_fn, ids, labels)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            tokens_seen += n_tok
            targets_seen += n_tgt
            padded_seen += ids_np.size
            if step % args.log_every == 0:
                lv = float(loss.detach())
                ema = lv if ema is None else 0.9 * ema + 0.1 * lv
                now2 = time.time()
                el = now2 - t_start
                inst = (tokens_seen - last_tok) / max(1e-9, now2 - last_t)
                last_t, last_tok = now2, tokens_seen
                losses.append((step, round(el, 1), lv))
                log(f"step {step} loss {lv:.4f} (ema {ema:.4f}) lr {lr:.2e} "
                    f"{tokens_seen / el / 1e6:.2f}M tok/s avg, {inst / 1e6:.2f}M tok/s now "
                    f"({targets_seen / el / 1e6:.2f}M target/s, padding eff "
                    f"{tokens_seen / padded_seen:.3f}, data wait {data_wait:.1f}s) "
                    f"data {fd.stats()}")
                if step == args.log_every:
                    log(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
                if not math.isfinite(lv):
                    log("loss is not finite: stopping")
                    summary["nonfinite_loss"] = True
                    break
    except Exception:
        log(f"training FAILED at step {step}:\n{traceback.format_exc()}")
        summary.setdefault("failed", []).append("train")
    torch.cuda.synchronize()
    el = time.time() - t_start
    log(f"trained {step} steps in {el:.1f}s: {tokens_seen / 1e6:.1f}M tokens "
        f"({targets_seen / 1e6:.1f}M target, {padded_seen / 1e6:.1f}M padded), "
        f"{tokens_seen / max(el, 1e-9) / 1e6:.2f}M tok/s; data {fd.stats()}")
    summary["train"] = dict(steps=step, seconds=round(el, 1), tokens=tokens_seen,
                            target_tokens=targets_seen, padded_tokens=padded_seen,
                            tokens_per_s=round(tokens_seen / max(el, 1e-9)),
                            final_loss_ema=ema, params=n_params, mode=mode,
                            data_wait_s=round(data_wait, 1), data=fd.stats(),
                            losses=losses)
    phases["train_s"] = round(el, 1)

    # 4) Save first, then stop the producer.
    t = time.time()
    base.save_model(hf, model_dir, eot, im_end)
    log(f"saved {sorted(os.listdir(model_dir))}")
    if out_env:
        try:
            with tarfile.open(os.path.join(out_env, "model.tgz"), "w:gz") as tf:
                tf.add(model_dir, arcname="tiny-calc")
            log("model.tgz written")
        except Exception:
            log(f"model.tgz FAILED:\n{traceback.format_exc()}")
    phases["save_s"] = round(time.time() - t, 1)
    try:
        pool.terminate()
        pool.join()
    except Exception:
        log(f"pool terminate failed:\n{traceback.format_exc()}")
    torch.cuda.empty_cache()

    # 5) Checks, golden data, evaluation (train.after_training, each stage guarded).
    ns = argparse.Namespace(out=args.out, seed=args.seed, eval_samples=args.eval_samples,
                            temperature=args.temperature,
                            eval_seconds=max(10.0, T0 + args.eval_until - time.time() - 12))
    log(f"eval: {args.eval_problems} problems per level, deadline in {ns.eval_seconds:.0f}s "
        f"after checks and golden")
    t = time.time()
    summary["phases"] = phases
    base.after_training(ns, levels, model_dir, tok, summary)
    phases["after_training_s"] = round(time.time() - t, 1)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=str)
    log("all done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
