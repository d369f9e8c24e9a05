#!/usr/bin/env python3
"""Baseline for bench/cuda_engine_bench: Hugging Face transformers generate() on the same GPU.

Loads the checkpoint directory that cuda_engine_bench wrote (same random weights, bf16),
then generates exactly --output tokens (greedy; min_new_tokens = max_new_tokens, so EOS
cannot stop a row early) for --requests random prompts of --prompt tokens, in batches of
--batch. Prints and writes (--json) output tokens/s over the whole timed run; one untimed
warm-up batch runs first.

  python3 bench/hf_generate_baseline.py --model-dir /tmp/agentrt-bench-qwen2.5-0.5b \
      --requests 1000 --prompt 512 --output 256 --batch 250 --json hf.json
"""
import argparse
import json
import os
import sys
import time

import safetensors.torch
import torch
import transformers


def load(model_dir, attn):
    """The checkpoint as written by bench/synthetic_model.cpp (config.json without model_type,
    safetensors without metadata): the class named by `architectures`, built on the GPU in
    bf16, then the tensors loaded strictly (only a tied lm_head may be absent)."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    cls = getattr(transformers, cfg["architectures"][0])
    config = cls.config_class(**cfg)
    config._attn_implementation = attn
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = cls(config)
    torch.set_default_dtype(torch.float32)
    state = safetensors.torch.load_file(os.path.join(model_dir, "model.safetensors"),
                                        device="cuda")
    missing, unexpected = model.load_state_dict(state, strict=False)
    allowed = {"lm_head.weight"} if config.tie_word_embeddings else set()
    if set(missing) - allowed or unexpected:
        sys.exit(f"hf_generate_baseline: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    return model.to(torch.bfloat16).eval()


def generate(model, prompts, output, batch, vocab):
    """Runs generate() over `prompts` in batches; returns (seconds, output tokens)."""
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    produced = 0
    for i in range(0, prompts.shape[0], batch):
        ids = prompts[i:i + batch]
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                             max_new_tokens=output, min_new_tokens=output, do_sample=False,
                             pad_token_id=0, eos_token_id=None)
        new = out.shape[1] - ids.shape[1]
        if new != output:
            sys.exit(f"hf_generate_baseline: a batch produced {new} tokens, expected {output}")
        produced += new * ids.shape[0]
        torch.cuda.synchronize()
        print(f"  batch {i // batch}: {produced} tokens, {time.perf_counter() - t0:.2f} s",
              flush=True)
    torch.cuda.synchronize()
    return time.perf_counter() - t0, produced


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--output", type=int, default=256)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--attn", default="sdpa")
    ap.add_argument("--json")
    a = ap.parse_args()
    model = load(a.model_dir, a.attn)
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(2)
    prompts = torch.randint(0, vocab, (a.requests, a.prompt), generator=g).cuda()
    # Warm-up: one full batch at full length (the first one runs several times slower).
    warm = torch.randint(0, vocab, (min(a.batch, a.requests), a.prompt), generator=g).cuda()
    with torch.inference_mode():
        generate(model, warm, a.output, warm.shape[0], vocab)
        seconds, produced = generate(model, prompts, a.output, a.batch, vocab)
    tps = produced / seconds
    total = (a.requests * a.prompt + produced) / seconds
    print(f"HF transformers {transformers.__version__} generate() on "
          f"{torch.cuda.get_device_name()} (bf16, {a.attn}, batch {a.batch}): {a.requests} "
          f"requests x {a.prompt} in / {a.output} out: {seconds:.2f} s, {tps:.0f} output tok/s, "
          f"{total:.0f} total tok/s", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "transformers":
                       transformers.__version__, "torch": torch.__version__, "attn": a.attn,
                       "requests": a.requests, "prompt": a.prompt, "output": a.output,
                       "batch": a.batch, "seconds": seconds, "output_tokens_per_s": tps,
                       "total_tokens_per_s": total}, f, indent=2)


if __name__ == "__main__":
    main()
