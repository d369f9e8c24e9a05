"""Batched tool-using rollouts of tiny-calc in PyTorch, and the accuracy evaluation.

FastQwen2 runs the Qwen2 decoder in plain torch over a loaded Hugging Face model's weights
(f32, static KV cache, right-padded ragged batches) so that thousands of samples decode
together; check_against_hf() compares its logits with the HF model's. The tool loop renders
each conversation with the Qwen3 template (add_generation_prompt, enable_thinking=False), as
a runtime that re-renders every turn does, generates one reply, runs its calculator calls
and appends the responses, until a reply has no tool call.
"""
import re
import json
import time
from collections import Counter

import torch
import torch.nn.functional as F

import calculator
import chat_format as cf

MAX_TURNS = 14
MAX_NEW_TOKENS = 256
CALL_RE = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.S)
ANSWER_RE = re.compile(r"Answer: (-?\d+)")


class FastQwen2:
    def __init__(self, hf_model, device="cuda"):
        cfg = hf_model.config
        sd = {k: v.detach().to(device=device, dtype=torch.float32)
              for k, v in hf_model.state_dict().items()}
        self.device = device
        self.L = cfg.num_hidden_layers
        self.H = cfg.num_attention_heads
        self.KV = cfg.num_key_value_heads
        self.hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.H
        self.eps = cfg.rms_norm_eps
        self.emb = sd["model.embed_tokens.weight"]
        self.head = sd.get("lm_head.weight", self.emb)
        self.norm = sd["model.norm.weight"]
        self.layers = []
        for i in range(self.L):
            p = f"model.layers.{i}."
            a = p + "self_attn."
            self.layers.append(dict(
                ln1=sd[p + "input_layernorm.weight"], ln2=sd[p + "post_attention_layernorm.weight"],
                qkv=torch.cat([sd[a + "q_proj.weight"], sd[a + "k_proj.weight"],
                               sd[a + "v_proj.weight"]]),
                qkv_b=torch.cat([sd[a + "q_proj.bias"], sd[a + "k_proj.bias"],
                                 sd[a + "v_proj.bias"]]),
                o=sd[a + "o_proj.weight"],
                gu=torch.cat([sd[p + "mlp.gate_proj.weight"], sd[p + "mlp.up_proj.weight"]]),
                down=sd[p + "mlp.down_proj.weight"]))
        rp = getattr(cfg, "rope_parameters", None)
        theta = rp.get("rope_theta") if isinstance(rp, dict) else None
        theta = theta or getattr(cfg, "rope_theta", None) or 10000.0
        inv = 1.0 / (theta ** (torch.arange(0, self.hd, 2, dtype=torch.int64, device=device)
                               .float() / self.hd))
        pos = torch.arange(cfg.max_position_embeddings, device=device).float()
        freqs = torch.outer(pos, inv)
        e = torch.cat([freqs, freqs], -1)
        self.cos, self.sin = e.cos(), e.sin()

    def _rms(self, x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def _rope(self, x, pos):  # x [B, h, S, hd], pos [B, S]
        c, s = self.cos[pos].unsqueeze(1), self.sin[pos].unsqueeze(1)
        h = self.hd // 2
        rot = torch.cat([-x[..., h:], x[..., :h]], -1)
        return x * c + rot * s

    def _layers(self, x, pos, kc, vc, write, attend):
        B, S, _ = x.shape
        qn, kn = self.H * self.hd, self.KV * self.hd
        for li, w in enumerate(self.layers):
            h = self._rms(x, w["ln1"])
            qkv = F.linear(h, w["qkv"], w["qkv_b"])
            q = qkv[..., :qn].view(B, S, self.H, self.hd).transpose(1, 2)
            k = qkv[..., qn:qn + kn].view(B, S, self.KV, self.hd).transpose(1, 2)
            v = qkv[..., qn + kn:].view(B, S, self.KV, self.hd).transpose(1, 2)
            q, k = self._rope(q, pos), self._rope(k, pos)
            o = attend(li, q, k, v, kc, vc, write)
            x = x + F.linear(o.transpose(1, 2).reshape(B, S, qn), w["o"])
            h = self._rms(x, w["ln2"])
            gu = F.linear(h, w["gu"])
            g, u = gu.chunk(2, -1)
            x = x + F.linear(F.silu(g) * u, w["down"])
        return x

    def _logits(self, x):
        return F.linear(self._rms(x, self.norm), self.head)

    @torch.no_grad()
    def forward_full(self, ids):
        """Logits at every position of one unpadded batch [B, S] (for checks)."""
        B, S = ids.shape
        pos = torch.arange(S, device=ids.device).expand(B, S)

        rep = self.H // self.KV

        def attend(li, q, k, v, kc, vc, write):
            return F.scaled_dot_product_attention(q, k.repeat_interleave(rep, 1),
                                                  v.repeat_interleave(rep, 1), is_causal=True)
        return self._logits(self._layers(self.emb[ids], pos, None, None, None, attend))

    @torch.no_grad()
    def generate(self, prompts, temps, stop_ids, max_new, gen, pad_id):
        """prompts: lists of ids; temps: one per prompt (0 = greedy). Returns generated ids
        per prompt, ending with a stop id, or cut at max_new."""
        B = len(prompts)
        lens = torch.tensor([len(p) for p in prompts], device=self.device)
        S = int(lens.max())
        T = S + max_new
        ids = torch.full((B, S), pad_id, dtype=torch.long, device=self.device)
        for i, p in enumerate(prompts):
            ids[i, :len(p)] = torch.tensor(p, device=self.device)
        # Zeroed: masked cache slots are multiplied by 0 in attention, and 0 * NaN is NaN.
        kc = torch.zeros(self.L, B, self.KV, T, self.hd, device=self.device)
        vc = torch.zeros_like(kc)
        temps = torch.tensor(temps, device=self.device, dtype=torch.float32)
        stops = torch.tensor(stop_ids, device=self.device)
        # Prefill (right padding: causal attention alone keeps valid rows off the pads; the
        # pads' K/V lie past every row's length and decode overwrites or masks them).
        pos = torch.arange(S, device=self.device).expand(B, S)
        rep = self.H // self.KV
        x = torch.empty(B, S, self.emb.shape[1], device=self.device)
        step = max(1, 400_000 // S)  # rows per prefill slice
        for b0 in range(0, B, step):
            sl = slice(b0, b0 + step)

            def attend_slice(li, q, k, v, kc_, vc_, write, sl=sl):
                kc[li, sl, :, :S] = k
                vc[li, sl, :, :S] = v
                return F.scaled_dot_product_attention(q, k.repeat_interleave(rep, 1),
                                                      v.repeat_interleave(rep, 1),
                                                      is_causal=True)
            x[sl] = self._layers(self.emb[ids[sl]], pos[sl], None, None, None, attend_slice)
        last = x[torch.arange(B, device=self.device), lens - 1]
        logits = self._logits(last)
        cur = lens.clone()
        rows = torch.arange(B, device=self.device)
        done = torch.zeros(B, dtype=torch.bool, device=self.device)
        out = []
        for _ in range(max_new):
            greedy = logits.argmax(-1)
            probs = torch.softmax(logits / temps.clamp(min=1e-5)[:, None], -1)
            sampled = torch.multinomial(probs, 1, generator=gen).squeeze(1)
            tok = torch.where(temps > 0, sampled, greedy)
            tok = torch.where(done, torch.full_like(tok, pad_id), tok)
            out.append(tok)
            done |= torch.isin(tok, stops)
            if bool(done.all()):
                break
            Tk = int(cur.max()) + 1
            mask = (torch.arange(Tk, device=self.device)[None, :] <= cur[:, None])[:, None, None]
            scale = self.hd ** -0.5

            def attend_decode(li, q, k, v, kc_, vc_, write):
                kc[li, rows, :, cur] = k[:, :, 0]
                vc[li, rows, :, cur] = v[:, :, 0]
                # One query row per sequence: stack each KV group's query heads as rows.
                qg = q.reshape(B, self.KV, rep, self.hd)
                sc = torch.matmul(qg, kc[li, :, :, :Tk].transpose(-1, -2)) * scale
                sc = sc.masked_fill(~mask, float("-inf"))
                o = torch.matmul(torch.softmax(sc, -1), vc[li, :, :, :Tk])
                return o.reshape(B, self.H, 1, self.hd)
            x = self._layers(self.emb[tok][:, None], cur[:, None], None, None, None,
                             attend_decode)
            logits = self._logits(x[:, 0])
            cur = cur + 1
        outs = torch.stack(out, 1).tolist()
        result = []
        stop_set = set(stop_ids)
        for row in outs:
            seq = []
            for t in row:
                seq.append(t)
                if t in stop_set:
                    break
            result.append(seq)
        return result


@torch.no_grad()
def check_against_hf(fast, hf_model, seqs):
    """Max |logit difference| between FastQwen2 and the HF model on a few sequences."""
    worst = 0.0
    for s in seqs:
        ids = torch.tensor([s], device=fast.device)
        a = fast.forward_full(ids)[0]
        b = hf_model(ids).logits[0].float()
        worst = max(worst, float((a - b).abs().max()))
    return worst


class Rollout:
    __slots__ = ("problem", "messages", "temp", "answer", "done", "calls", "fail")

    def __init__(self, problem, temp, system=cf.SYSTEM_PROMPTS[0]):
        self.problem = problem
        self.messages = cf.conversation(problem, system, with_answer=False)
        self.temp = temp
        self.answer = None
        self.done = False
        self.calls = 0
        self.fail = None


def apply_reply(r, text):
    """Parses one generated reply (without its stop token) into the conversation."""
    raw_calls = CALL_RE.findall(text)
    if not raw_calls and "<tool_call>" not in text:
        r.messages.append({"role": "assistant", "content": text.strip()})
        m = ANSWER_RE.search(text)
        r.answer = int(m.group(1)) if m else None
        r.done = True
        if m is None:
            r.fail = "no answer"
        return
    content = text.split("<tool_call>", 1)[0].strip()
    calls, results = [], []
    for raw in raw_calls:
        try:
            obj = json.loads(raw)
            name, args = obj["name"], obj["arguments"]
            expr = args["expression"]
        except Exception:
            calls.append(cf.tool_call("?", None))
            results.append("error: invalid tool call")
            continue
        calls.append({"type": "function", "function": {"name": name, "arguments": args}})
        results.append(calculator.evaluate(expr) if name == "calculator"
                       else "error: unknown tool")
    if not calls:
        r.done, r.fail = True, "malformed tool call"
        return
    r.calls += len(calls)
    r.messages.append({"role": "assistant", "content": content, "tool_calls": calls})
    for res in results:
        r.messages.append({"role": "tool", "content": res})


def run_rollouts(fast, tok, rollouts, seed, chunk_tokens=3_000_000, log=print,
                 deadline=None):
    """Runs every rollout to its final answer (or failure) in batched rounds."""
    gen = torch.Generator(device=fast.device)
    gen.manual_seed(seed)
    im_end, eot = tok.token_to_id("<|im_end|>"), tok.token_to_id("<|endoftext|>")
    max_ctx = fast.cos.shape[0]
    for turn in range(MAX_TURNS):
        active = [r for r in rollouts if not r.done]
        if not active:
            break
        if deadline is not None and time.time() > deadline:
            for r in active:
                r.done, r.fail = True, "eval deadline"
            log(f"  eval deadline hit at turn {turn}: {len(active)} rollouts cut")
            break
        texts = [cf.render(r.messages, cf.TOOLS, True, False) for r in active]
        encs = tok.encode_batch(texts, add_special_tokens=False)
        ids = [e.ids for e in encs]
        order = sorted(range(len(active)), key=lambda i: len(ids[i]))
        t0 = time.time()
        i = 0
        n_tok = 0
        while i < len(order):
            S = len(ids[order[min(len(order) - 1, i)]])
            j = i
            while j < len(order) and (j - i + 1) * (len(ids[order[j]]) + MAX_NEW_TOKENS) \
                    <= chunk_tokens:
                j += 1
            j = max(j, i + 1)
            idx = order[i:j]
            ok = [k for k in idx if len(ids[k]) + MAX_NEW_TOKENS <= max_ctx]
            for k in idx:
                if k not in ok:
                    active[k].done, active[k].fail = True, "context full"
            if ok:
                outs = fast.generate([ids[k] for k in ok], [active[k].temp for k in ok],
                                     [im_end, eot], MAX_NEW_TOKENS, gen, eot)
                for k, o in zip(ok, outs):
                    n_tok += len(o)
                    r = active[k]
                    if not o or o[-1] not in (im_end, eot):
                        r.done, r.fail = True, "reply too long"
                        continue
                    apply_reply(r, tok.decode(o[:-1], skip_special_tokens=False))
            i = j
        log(f"  turn {turn}: {len(active)} active, {n_tok} tokens, {time.time() - t0:.1f}s")
    for r in rollouts:
        if not r.done:
            r.done, r.fail = True, "too many turns"


def majority(answers):
    votes = Counter(a for a in answers if a is not None)
    return votes.most_common(1)[0][0] if votes else None


def evaluate(fast, tok, levels, n_samples=16, temperature=0.8, seed=0, log=print,
             deadline=None):
    """levels: [(name, ops, distractors, [problems])], evaluated one after the other (a
    level not started before the deadline is left out). For each problem: one greedy
    rollout and n_samples sampled ones. Returns a list of result rows."""
    rows = []
    acc = lambda xs: sum(xs) / max(1, len(xs))  # noqa: E731
    for li, (name, ops, dis, probs) in enumerate(levels):
        if deadline is not None and time.time() > deadline:
            log(f"{name}: skipped (eval deadline)")
            continue
        greedy = [Rollout(p, 0.0) for p in probs]
        samples = [[Rollout(p, temperature) for _ in range(n_samples)] for p in probs]
        everything = greedy + [r for rs in samples for r in rs]
        t0 = time.time()
        run_rollouts(fast, tok, everything, seed + li, log=log)
        n = len(probs)
        fails = Counter(r.fail for r in everything if r.fail)
        answers = [[r.answer for r in rs] for rs in samples]
        g = acc([greedy[i].answer == probs[i].answer for i in range(n)])
        m1 = acc([acc([a == probs[i].answer for a in answers[i]]) for i in range(n)])
        m4 = acc([acc([majority(answers[i][k:k + 4]) == probs[i].answer
                       for k in range(0, n_samples - 3, 4)]) for i in range(n)])
        m16 = acc([majority(answers[i][:16]) == probs[i].answer for i in range(n)])
        p16 = acc([any(a == probs[i].answer for a in answers[i][:16]) for i in range(n)])
        rows.append(dict(level=name, ops=ops, distractors=dis, problems=n, greedy=g,
                         maj1=m1, maj4=m4, maj16=m16, pass16=p16,
                         greedy_mean_calls=acc([r.calls for r in greedy]),
                         rollouts=len(everything), seconds=round(time.time() - t0, 1),
                         failures=dict(fails)))
        log(f"{name}: greedy {g:.3f} maj@1 {m1:.3f} maj@4 {m4:.3f} maj@16 {m16:.3f} "
            f"pass@16 {p16:.3f} fails {dict(fails)} ({time.time() - t0:.1f}s)")
    return rows
