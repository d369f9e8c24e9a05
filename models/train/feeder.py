"""Batches for train_fast.py from the streaming producer (numpy only, no torch).

A chunk is (tokens uint16, mask uint8, lengths int32) of concatenated samples. Each chunk is
cut into length-grouped batches of at most `budget` padded tokens (rows right-padded to a
multiple of `pad_to`), in random order. Fresh chunks are used first; when none is ready, an
already used chunk is drawn again at random.
"""
import collections
from multiprocessing import TimeoutError as MPTimeout

import numpy as np


class Chunk:
    __slots__ = ("tokens", "mask", "lengths", "offsets")

    def __init__(self, tokens, mask, lengths):
        self.tokens = tokens
        self.mask = mask
        self.lengths = lengths.astype(np.int64)
        self.offsets = np.zeros(len(lengths), dtype=np.int64)
        if len(lengths) > 1:
            self.offsets[1:] = np.cumsum(self.lengths[:-1])


def padded(n, pad_to):
    return ((int(n) + pad_to - 1) // pad_to) * pad_to


def make_batches(lengths, budget, pad_to, rng, min_fill=0.25):
    """Index arrays of length-grouped batches: rows * padded(max length) <= budget.
    A last batch under min_fill * budget padded tokens is dropped. Random order."""
    order = np.argsort(lengths, kind="stable")
    n = len(order)
    out = []
    i = 0
    while i < n:
        j = i
        while j < n and (j - i + 1) * padded(lengths[order[j]], pad_to) <= budget:
            j += 1
        j = max(j, i + 1)
        out.append(order[i:j])
        i = j
    if out and len(out[-1]) * padded(lengths[out[-1][-1]], pad_to) < min_fill * budget \
            and len(out) > 1:
        out.pop()
    perm = rng.permutation(len(out))
    return [out[k] for k in perm]


def collate(chunk, idx, pad_id, pad_to):
    """ids [B, L] int64 (right-padded with pad_id) and labels [B, L] int64: labels[:, t] is
    ids[:, t + 1] where that token is a reply token, else -100."""
    lens = chunk.lengths[idx]
    L = padded(lens.max(), pad_to)
    pos = np.arange(L, dtype=np.int64)
    valid = pos[None, :] < lens[:, None]
    gather = np.minimum(chunk.offsets[idx][:, None] + pos[None, :], len(chunk.tokens) - 1)
    ids = np.where(valid, chunk.tokens[gather].astype(np.int64), pad_id)
    tgt = (chunk.mask[gather] != 0) & valid
    labels = np.full((len(idx), L), -100, dtype=np.int64)
    labels[:, :-1] = np.where(tgt[:, 1:], ids[:, 1:], -100)
    return ids, labels, int(lens.sum()), int(tgt[:, 1:].sum())


class Feeder:
    def __init__(self, it, budget, pad_to, pad_id, seed, log=print):
        self.it = it
        self.budget = budget
        self.pad_to = pad_to
        self.pad_id = pad_id
        self.rng = np.random.default_rng(seed)
        self.log = log
        self.fresh = collections.deque()
        self.used = []
        self.batches = []
        self.cur = None
        self.exhausted = False
        self.errors = 0
        self.chunks_in = 0
        self.samples_in = 0
        self.tokens_in = 0
        self.fresh_used = 0
        self.reused = 0

    def _add(self, r):
        tokens, mask, lengths, _dropped = r
        if len(lengths) == 0:
            return
        self.fresh.append(Chunk(tokens, mask, lengths))
        self.chunks_in += 1
        self.samples_in += len(lengths)
        self.tokens_in += len(tokens)

    def poll(self):
        """Takes every chunk that is ready, without waiting."""
        while not self.exhausted:
            try:
                r = self.it.next(timeout=0)
            except MPTimeout:
                break
            except StopIteration:
                self.exhausted = True
                break
            except Exception as e:  # a worker's exception: skip that chunk
                self.errors += 1
                if self.errors <= 3:
                    self.log(f"producer error: {e!r}")
                continue
            self._add(r)

    def wait(self, timeout):
        """Blocks until at least one chunk arrived (raises MPTimeout after timeout s)."""
        while not self.fresh and not self.used:
            try:
                self._add(self.it.next(timeout=timeout))
            except StopIteration:
                self.exhausted = True
                raise RuntimeError("producer exhausted before any chunk arrived")

    def next_batch(self):
        if not self.batches:
            self.poll()
            if self.fresh:
                self.cur = self.fresh.popleft()
                self.used.append(self.cur)
                self.fresh_used += 1
            elif self.used:
                self.cur = self.used[int(self.rng.integers(len(self.used)))]
                self.reused += 1
            else:
                self.wait(300)
                return self.next_batch()
            self.batches = make_batches(self.cur.lengths, self.budget, self.pad_to, self.rng)
        idx = self.batches.pop()
        return collate(self.cur, idx, self.pad_id, self.pad_to)

    def stats(self):
        return dict(chunks_in=self.chunks_in, samples_in=self.samples_in,
                    tokens_in=self.tokens_in, chunks_fresh_used=self.fresh_used,
                    chunks_reused=self.reused, chunks_pending=len(self.fresh),
                    producer_errors=self.errors)
