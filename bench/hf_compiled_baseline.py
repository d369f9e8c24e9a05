#!/usr/bin/env python3
"""Peer for the decode step of bench/cuda_backend_bench: Hugging Face transformers with a
static KV cache and torch.compile (mode="reduce-overhead": CUDA graphs), the gpt-fast recipe.

Random bf16 weights in the published shape (Llama-3.1-8B or Qwen2.5-0.5B, as
bench/cuda_model_shapes.h), SDPA attention. For each batch size: one eager prefill of
--context random tokens into a StaticCache, then a compiled single-token decode function
called --warmup times (compilation and graph capture) and --steps times timed; greedy
argmax between steps stays on the GPU. Prints and writes (--json) ms per decode step and
output tokens/s, with the torch and transformers versions.

  python3 bench/hf_compiled_baseline.py --shape llama-3.1-8b --batch 1,32 --context 1024 \
      --json hfc.json
"""
import argparse
import json
import sys
import time

import torch
import transformers

SHAPES = {
    "llama-3.1-8b": dict(arch="LlamaForCausalLM", vocab_size=128256, hidden_size=4096,
                         intermediate_size=14336, num_hidden_layers=32,
                         num_attention_heads=32, num_key_value_heads=8, rms_norm_eps=1e-5,
                         rope_theta=500000.0, max_position_embeddings=131072,
                         tie_word_embeddings=False,
                         rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                       "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                       "original_max_position_embeddings": 8192}),
    "qwen2.5-0.5b": dict(arch="Qwen2ForCausalLM", vocab_size=151936, hidden_size=896,
                         intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, rms_norm_eps=1e-6,
                         rope_theta=1000000.0, max_position_embeddings=32768,
                         tie_word_embeddings=True),
}


def build(shape):
    spec = dict(SHAPES[shape])
    cls = getattr(transformers, spec.pop("arch"))
    config = cls.config_class(hidden_act="silu", torch_dtype="bfloat16", **spec)
    config._attn_implementation = "sdpa"
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = cls(config)
    torch.set_default_dtype(torch.float32)
    return model.to(torch.bfloat16).eval(), config


def static_cache(config, batch, length):
    # The constructor's arguments changed across transformers releases.
    try:
        return transformers.StaticCache(config=config, max_batch_size=batch,
                                        max_cache_len=length, device="cuda",
                                        dtype=torch.bfloat16)
    except TypeError:
        return transformers.StaticCache(config=config, max_cache_len=length)


@torch.no_grad()
def run(model, config, batch, context, warmup, steps, decode):
    cache = static_cache(config, batch, context + warmup + steps + 8)
    prompt = torch.randint(0, config.vocab_size, (batch, context), device="cuda")
    logits = model(input_ids=prompt, past_key_values=cache, use_cache=True,
                   cache_position=torch.arange(context, device="cuda")).logits
    token = logits[:, -1].argmax(-1, keepdim=True)
    pos = context

    def one(token, pos):
        # CUDA-graph outputs are overwritten by the next replay: mark the step, keep a copy.
        torch.compiler.cudagraph_mark_step_begin()
        return decode(token, torch.tensor([pos], device="cuda"), cache).clone()

    for _ in range(warmup):
        token = one(token, pos)
        pos += 1
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        token = one(token, pos)
        pos += 1
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="llama-3.1-8b", choices=sorted(SHAPES))
    ap.add_argument("--batch", default="1,32")
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--warmup", type=int, default=8)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--mode", default="reduce-overhead")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.manual_seed(0)
    model, config = build(a.shape)

    def step(token, pos, cache):
        out = model(input_ids=token, past_key_values=cache, use_cache=True, cache_position=pos)
        return out.logits[:, -1].argmax(-1, keepdim=True)

    compiled = torch.compile(step, mode=a.mode, fullgraph=True)
    rows = []
    for b in [int(x) for x in a.batch.split(",")]:
        row = {"shape": a.shape, "batch": b, "context": a.context, "mode": a.mode}
        for name, fn in (("eager", step), ("compiled", compiled)):
            t0 = time.perf_counter()
            try:
                ms = run(model, config, b, a.context, a.warmup, a.steps, fn)
            except Exception as e:  # report and go on with the other rows
                print(f"{a.shape} batch {b} {name}: failed: {type(e).__name__}: {e}"[:2000],
                      file=sys.stderr)
                continue
            row[name + "_ms"] = ms
            row[name + "_tok_s"] = b / ms * 1e3
            row[name + "_wall_s"] = time.perf_counter() - t0
            print(f"{a.shape} batch {b} context {a.context} {name}: {ms:.3f} ms/step, "
                  f"{b / ms * 1e3:.0f} tok/s (wall {row[name + '_wall_s']:.0f} s)", flush=True)
        rows.append(row)
    out = {"torch": torch.__version__, "transformers": transformers.__version__,
           "gpu": torch.cuda.get_device_name(), "rows": rows}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
