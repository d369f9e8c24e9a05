"""Golden fixture for tests/golden/tiny_calc_golden.test.cpp: Hugging Face's view of
models/tiny-calc on a few conversations with tool calls and tool responses.

For each conversation it records the prompt text (transformers' apply_chat_template with
add_generation_prompt=True, enable_thinking=False), its ids (the HF tokenizer), the logits
at a few positions, and a greedy continuation with each step's top-2 margin, computed in
float32 on the CPU from the saved weights with a full forward per step (no KV cache).
"""
import json
import random
import re

import torch

import chat_format as cf
import problems as pg

GREEDY_TOKENS = 48
MIN_MARGIN = 1e-3  # greedy steps with a smaller top-2 margin are not recorded as golden
N_POSITIONS = 12


def _convs():
    rng = random.Random(424242)
    out = []
    p = pg.generate(rng, 3, 3)
    out.append(("first_turn", cf.conversation(p, cf.SYSTEM_PROMPTS[0], with_answer=False)))
    p = pg.generate(rng, 4, 4)
    msgs = cf.conversation(p, cf.SYSTEM_PROMPTS[0])
    first_tool = max(i for i, m in enumerate(msgs) if m["role"] == "tool"
                     and i < [k for k, x in enumerate(msgs) if x["role"] == "assistant"][1])
    out.append(("after_tool_response", msgs[:first_tool + 1]))
    while True:  # a first turn with several calls
        p = pg.generate(rng, 5, 3)
        if len(p.levels()[0]) >= 2:
            break
    msgs = cf.conversation(p, cf.SYSTEM_PROMPTS[1])
    second = [k for k, x in enumerate(msgs) if x["role"] == "assistant"][1]
    out.append(("parallel_calls", msgs[:second]))
    p = pg.generate(rng, 2, 2)
    msgs = cf.conversation(p, None)
    out.append(("final_answer", msgs[:-1]))
    return out


@torch.no_grad()
def make(model_dir, log=print, tok_fast=None):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    import transformers
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    convs = []
    for name, msgs in _convs():
        text = tok.apply_chat_template(msgs, tools=cf.TOOLS, add_generation_prompt=True,
                                       tokenize=False, enable_thinking=False)
        mine = cf.render(msgs, cf.TOOLS, True, False)
        assert text == mine, f"{name}: apply_chat_template differs from chat_format.render"
        ids = tok(text, add_special_tokens=False)["input_ids"]
        if tok_fast is not None and tok_fast.encode(text, add_special_tokens=False).ids != ids:
            log(f"golden {name}: WARNING: AutoTokenizer ids differ from tokenizers' ids")
        logits = model(torch.tensor([ids])).logits[0].float()
        n = len(ids)
        positions = sorted({round(i * (n - 1) / (N_POSITIONS - 1)) for i in range(N_POSITIONS)})
        seq = list(ids)
        steps = []
        for _ in range(GREEDY_TOKENS):
            last = model(torch.tensor([seq])).logits[0, -1].float()
            top2 = torch.topk(last, 2)
            steps.append((int(top2.indices[0]), float(top2.values[0] - top2.values[1])))
            seq.append(steps[-1][0])
        keep = len(steps)
        for k, (_, m) in enumerate(steps):
            if m < MIN_MARGIN:
                keep = k
                break
        tokens = [t for t, _ in steps]
        reply_ids = tokens[:tokens.index(im_end)] if im_end in tokens else tokens
        reply = tok.decode(reply_ids, skip_special_tokens=False)
        calls = []
        for raw in re.findall(r"<tool_call>\n(.*?)\n</tool_call>", reply, re.S):
            try:
                obj = json.loads(raw)
                calls.append({"name": obj["name"], "arguments": obj["arguments"]})
            except Exception:
                calls.append({"invalid": raw})
        m = re.search(r"Answer: (-?\d+)", reply)
        convs.append({
            "name": name, "messages": msgs, "text": text, "ids": ids,
            "logit_positions": positions,
            "logits": [[round(float(v), 6) for v in logits[p]] for p in positions],
            "greedy": {"tokens": tokens[:keep], "margins": [m_ for _, m_ in steps[:keep]],
                       "stopped_at_im_end": im_end in tokens[:keep]},
            "reply": {"text": reply, "tool_calls": calls,
                      "answer": int(m.group(1)) if m else None},
        })
        log(f"golden {name}: {n} prompt tokens, greedy kept {keep}/{GREEDY_TOKENS} "
            f"(min margin {min(m_ for _, m_ in steps):.3g}), reply {reply!r}")
    return {
        "reference": {"torch": torch.__version__, "transformers": transformers.__version__,
                      "compute_dtype": "float32", "device": "cpu",
                      "render": {"add_generation_prompt": True, "enable_thinking": False}},
        "tools": cf.TOOLS,
        "conversations": convs,
    }
