# A Qwen2-architecture Hugging Face checkpoint (bf16 safetensors, one file) as a bf16 GGUF for
# llama.cpp, with numpy and llama.cpp's gguf-py only: llama.cpp's own convert_hf_to_gguf.py
# imports torch, which the 2-core build machines lack. Matrices stay bf16 (as
# `convert_hf_to_gguf.py --outtype bf16` writes them), 1-D tensors (norms, biases) become f32,
# as llama.cpp keeps them; Qwen2 needs no q/k permutation (llama.cpp runs it with NEOX RoPE).
# Used for issue 17's CPU comparison on tiny-calc (bench/RESULTS.md, CPU round 6).
# usage: PYTHONPATH=LLAMA_CPP/gguf-py /usr/bin/python3 bench/qwen2_to_gguf.py MODEL_DIR OUT.gguf
import json
import os
import struct
import sys

import gguf
import numpy as np

src, out = sys.argv[1:3]
cfg = json.load(open(os.path.join(src, "config.json")))
if cfg["model_type"] != "qwen2":
    sys.exit(f"{src}/config.json: model_type {cfg['model_type']!r}, expected 'qwen2'")
H, L = cfg["hidden_size"], cfg["num_hidden_layers"]
w = gguf.GGUFWriter(out, "qwen2")
w.add_context_length(cfg["max_position_embeddings"])
w.add_embedding_length(H)
w.add_block_count(L)
w.add_feed_forward_length(cfg["intermediate_size"])
w.add_head_count(cfg["num_attention_heads"])
w.add_head_count_kv(cfg["num_key_value_heads"])
theta = cfg.get("rope_theta") or cfg.get("rope_parameters", {}).get("rope_theta", 10000.0)
w.add_rope_freq_base(float(theta))
w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)

# The vocabulary, as llama.cpp's gpt2-style BPE loader wants it (llama-bench never tokenizes).
tok = json.load(open(os.path.join(src, "tokenizer.json")))
V = cfg["vocab_size"]
toks = [f"[PAD{i}]" for i in range(V)]
types = [gguf.TokenType.UNUSED] * V
for s, i in tok["model"]["vocab"].items():
    if i < V:
        toks[i], types[i] = s, gguf.TokenType.NORMAL
for a in tok.get("added_tokens", []):
    if a["id"] < V:
        toks[a["id"]], types[a["id"]] = a["content"], gguf.TokenType.CONTROL
w.add_tokenizer_model("gpt2")
w.add_tokenizer_pre("qwen2")
w.add_token_list(toks)
w.add_token_types(types)
w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]])
eos = cfg.get("eos_token_id")
w.add_eos_token_id(eos[0] if isinstance(eos, list) else eos)

path = os.path.join(src, "model.safetensors")
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    base = 8 + n
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN2, L)
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "BF16":
            sys.exit(f"{path}: tensor {name}: dtype {meta['dtype']}, expected BF16")
        begin, end = meta["data_offsets"]
        f.seek(base + begin)
        raw = np.frombuffer(f.read(end - begin), dtype=np.uint16).reshape(meta["shape"])
        gname = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if gname is None:
            sys.exit(f"{path}: tensor {name}: no GGUF name for it")
        if raw.ndim == 1:
            w.add_tensor(gname, (raw.astype(np.uint32) << 16).view(np.float32))
        else:
            w.add_tensor(gname, raw.view(np.uint8), raw_dtype=gguf.GGMLQuantizationType.BF16)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print("wrote", out, os.path.getsize(out))
