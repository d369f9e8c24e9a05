#!/usr/bin/env python3
"""Builds tiny random-weight Hugging Face models and records their golden outputs.

Runs on the GPU machine (torch + transformers there); the reference math runs in float32 on
the CPU so that the fixtures are deterministic. For every architecture the engine supports it:
  1. builds the model from a config with random weights (transformers from_config),
  2. saves it with save_pretrained (safetensors; some sharded, some in bf16/f16),
  3. reloads the saved files, upcast to float32, and records
       - the logits at every position of a few prompts,
       - a greedy continuation of GREEDY_TOKENS tokens, with each step's top-2 logit margin.

Usage: python3 tests/golden/make_model_fixtures.py --out tests/fixtures/models
Command that made the committed fixtures: see tests/fixtures/models/README.md.
"""
import argparse
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM

GREEDY_TOKENS = 40
VOCAB = 256

COMMON = dict(
    vocab_size=VOCAB,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    max_position_embeddings=512,
    rms_norm_eps=1e-6,
    initializer_range=0.1,  # peaked logits: greedy margins far above f32 rounding
    bos_token_id=1,
    eos_token_id=2,
)

# name -> (config class, extra config fields, save dtype, max shard size or None)
FIXTURES = {
    # Llama with GQA (4 query heads share 2 KV heads), untied, f32.
    "llama-gqa": ("LlamaConfig",
                  dict(num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0,
                       tie_word_embeddings=False), torch.float32, None),
    # Llama 3 rope scaling, tied embeddings, MHA, stored in bf16.
    "llama3-rope-tied": ("LlamaConfig",
                         dict(num_attention_heads=4, num_key_value_heads=4, rope_theta=500000.0,
                              rope_scaling=dict(rope_type="llama3", factor=8.0,
                                                low_freq_factor=1.0, high_freq_factor=4.0,
                                                original_max_position_embeddings=64),
                              tie_word_embeddings=True), torch.bfloat16, None),
    # Qwen2: q/k/v bias, GQA, tied, stored in f16, sharded into several files.
    "qwen2-bias": ("Qwen2Config",
                   dict(num_attention_heads=4, num_key_value_heads=2, rope_theta=1000000.0,
                        tie_word_embeddings=True, use_sliding_window=False),
                   torch.float16, "40KB"),
    # Qwen3: q/k RMSNorm, head_dim override (4 * 32 != 64), GQA, untied.
    "qwen3-qknorm": ("Qwen3Config",
                     dict(num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                          rope_theta=1000000.0, tie_word_embeddings=False,
                          use_sliding_window=False), torch.float32, None),
    # Mistral: GQA, untied, no sliding window.
    "mistral-gqa": ("MistralConfig",
                    dict(num_attention_heads=4, num_key_value_heads=1, rope_theta=10000.0,
                         sliding_window=None, tie_word_embeddings=False), torch.float32, None),
}

PROMPTS = [
    [1, 17, 42, 99, 3, 200, 7, 7, 7, 150, 31, 64, 255, 12, 5, 88],
    [1, 250, 4, 18, 77],
    [1] + [(i * 37 + 11) % VOCAB for i in range(47)],  # spans several 16-token KV blocks
]


def build(name, spec, out_dir, seed):
    cls_name, extra, dtype, shard = spec
    cfg_cls = getattr(transformers, cls_name)
    cfg = cfg_cls(**COMMON, **extra)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    model.eval()
    path = os.path.join(out_dir, name)
    os.makedirs(path, exist_ok=True)
    model = model.to(dtype)
    kwargs = dict(safe_serialization=True)
    if shard:
        kwargs["max_shard_size"] = shard
    model.save_pretrained(path, **kwargs)
    return path


@torch.no_grad()
def golden(path):
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.eval()
    out = {"prompts": [], "greedy": None}
    for p in PROMPTS:
        ids = torch.tensor([p])
        logits = model(ids).logits[0].float()
        out["prompts"].append({"tokens": p, "logits": [[round(float(v), 6) for v in row] for row in logits]})
    # Greedy continuation by explicit argmax over a full forward each step (no KV cache
    # shortcuts in the reference), recording the margin between the top two logits.
    seq = list(PROMPTS[0])
    steps = []
    for _ in range(GREEDY_TOKENS):
        logits = model(torch.tensor([seq])).logits[0, -1].float()
        top2 = torch.topk(logits, 2)
        tok = int(top2.indices[0])
        steps.append({"token": tok, "margin": float(top2.values[0] - top2.values[1])})
        seq.append(tok)
    out["greedy"] = {"prompt": PROMPTS[0], "tokens": [s["token"] for s in steps],
                     "margins": [s["margin"] for s in steps]}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    print(f"torch {torch.__version__} transformers {transformers.__version__}")
    for i, (name, spec) in enumerate(FIXTURES.items()):
        path = build(name, spec, args.out, seed=1234 + i)
        g = golden(path)
        g["reference"] = {"torch": torch.__version__, "transformers": transformers.__version__,
                          "compute_dtype": "float32", "device": "cpu"}
        with open(os.path.join(path, "golden.json"), "w") as f:
            json.dump(g, f)
        files = sorted(os.listdir(path))
        min_margin = min(g["greedy"]["margins"])
        print(f"{name}: files={files} greedy={g['greedy']['tokens'][:8]}... "
              f"min_margin={min_margin:.4g}")
        with open(os.path.join(path, "config.json")) as f:
            print(f"  config: {f.read()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
