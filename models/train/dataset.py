"""Builds tiny-calc's tokenized training set in parallel worker processes.

Each sample is a generated problem, solved and rendered as one of the training sample modes
of chat_format.training_sample; its pieces are tokenized separately (equal to tokenizing the
whole text, see chat_format) and flattened into
  tokens (uint16), target mask (uint8: 1 where the token is a reply token to predict),
  lengths (int32).
"""
import os
import random
from multiprocessing import get_context

import numpy as np

import chat_format as cf
import problems as pg

_TOK = None


def _init(tokenizer_path):
    global _TOK
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from tokenizers import Tokenizer
    _TOK = Tokenizer.from_file(tokenizer_path)


def encode_pieces(tok, samples, cache):
    """samples: lists of (text, is_target). Returns per-sample (ids, mask) numpy arrays."""
    todo = sorted({t for s in samples for t, _ in s if t not in cache})
    for i in range(0, len(todo), 4096):
        batch = todo[i:i + 4096]
        for t, enc in zip(batch, tok.encode_batch(batch, add_special_tokens=False)):
            cache[t] = np.asarray(enc.ids, dtype=np.uint16)
    out = []
    for s in samples:
        ids = np.concatenate([cache[t] for t, _ in s])
        mask = np.concatenate([np.full(len(cache[t]), tg, dtype=np.uint8) for t, tg in s])
        out.append((ids, mask))
    return out


def _build_chunk(job):
    seed, count, max_len, banned = job
    rng = random.Random(seed)
    samples = []
    while len(samples) < count:
        ops, dis = pg.sample_train_difficulty(rng)
        p = pg.generate(rng, ops, dis)
        if p.text() in banned:
            continue
        samples.append(cf.training_sample(rng, p))
    cache = {}
    encoded = encode_pieces(_TOK, samples, cache)
    keep = [(i, m) for i, m in encoded if len(i) <= max_len]
    lengths = np.array([len(i) for i, _ in keep], dtype=np.int32)
    return (np.concatenate([i for i, _ in keep]), np.concatenate([m for _, m in keep]),
            lengths, len(encoded) - len(keep))


def build(tokenizer_path, n_samples, seed, max_len, banned, workers, chunk=5000):
    """Returns (tokens, mask, offsets, lengths, dropped_too_long)."""
    jobs = []
    for k in range(0, n_samples, chunk):
        jobs.append((seed * 1_000_003 + k, min(chunk, n_samples - k), max_len, banned))
    ctx = get_context("fork")
    with ctx.Pool(workers, initializer=_init, initargs=(tokenizer_path,)) as pool:
        parts = pool.map(_build_chunk, jobs, chunksize=1)
    tokens = np.concatenate([p[0] for p in parts])
    mask = np.concatenate([p[1] for p in parts])
    lengths = np.concatenate([p[2] for p in parts])
    offsets = np.zeros(len(lengths), dtype=np.int64)
    offsets[1:] = np.cumsum(lengths[:-1])
    return tokens, mask, offsets, lengths, sum(p[3] for p in parts)


# --- Streaming producer (train_fast.py): workers keep generating chunks while the GPU trains.

_BANNED = frozenset()


def _init_stream(tokenizer_path, banned, nice):
    global _BANNED
    _init(tokenizer_path)
    _BANNED = banned
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass


def sample_weighted_difficulty(rng, ops_weights):
    """ops drawn with the given weights ((ops, weight) pairs); distractors 0..ops+2."""
    ops = rng.choices([o for o, _ in ops_weights], weights=[w for _, w in ops_weights])[0]
    return ops, rng.randint(0, ops + 2)


def build_chunk_weighted(job, tok=None, banned=None):
    """job = (seed, count, max_len, ops_weights). Returns (tokens uint16, mask uint8,
    lengths int32, dropped_too_long) like _build_chunk."""
    seed, count, max_len, ops_weights = job
    tok = _TOK if tok is None else tok
    banned = _BANNED if banned is None else banned
    rng = random.Random(seed)
    samples = []
    while len(samples) < count:
        ops, dis = sample_weighted_difficulty(rng, ops_weights)
        p = pg.generate(rng, ops, dis)
        if p.text() in banned:
            continue
        samples.append(cf.training_sample(rng, p))
    encoded = encode_pieces(tok, samples, {})
    keep = [(i, m) for i, m in encoded if len(i) <= max_len]
    lengths = np.array([len(i) for i, _ in keep], dtype=np.int32)
    return (np.concatenate([i for i, _ in keep]), np.concatenate([m for _, m in keep]),
            lengths, len(encoded) - len(keep))


def start_stream(tokenizer_path, banned, workers, seed, ops_weights, max_len, chunk=4000,
                 n_chunks=2000, nice=10):
    """Starts a fork pool that generates chunks of `chunk` samples in the background.
    Returns (pool, iterator): iterator.next(timeout=0) gives a finished chunk or raises
    multiprocessing.TimeoutError. Call this before CUDA is initialized."""
    ctx = get_context("fork")
    pool = ctx.Pool(workers, initializer=_init_stream, initargs=(tokenizer_path, banned, nice))
    weights = tuple(ops_weights)
    jobs = [(seed * 1_000_003 + 7919 * k, chunk, max_len, weights) for k in range(n_chunks)]
    return pool, pool.imap_unordered(build_chunk_weighted, jobs, chunksize=1)
