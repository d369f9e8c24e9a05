"""Trains tiny-calc's tokenizer with Hugging Face `tokenizers`: a byte-level BPE with
Qwen3's normalizer (NFC), pre-tokenizer (the same Split regex, digits one by one, then
ByteLevel), post-processor and decoder, and Qwen3's chat tokens as added tokens after the
BPE vocabulary. Also writes tokenizer_config.json with Qwen3's chat template verbatim.
"""
import json
import os
import re

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers, trainers

import chat_format as cf

QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+"
              r"[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
              "use_regex": False}
PRE_TOKENIZER = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": QWEN_SPLIT}, "behavior": "Isolated", "invert": False},
    dict(BYTE_LEVEL)]}
# (content, special): special tokens are skipped by skip_special_tokens; the tool and think
# markers are not special, as in Qwen3.
ADDED = [("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
         ("<tool_call>", False), ("</tool_call>", False), ("<tool_response>", False),
         ("</tool_response>", False), ("<think>", False), ("</think>", False)]
MARKERS = re.compile("|".join(re.escape(a) for a, _ in ADDED))


def train(texts, vocab_size, out_dir):
    """Trains on texts (added-token markers are cut out first) and writes tokenizer.json and
    tokenizer_config.json into out_dir. vocab_size counts the added tokens. Returns the
    Tokenizer."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - len(ADDED), min_frequency=2,
                                  show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator((MARKERS.sub("\n", t) for t in texts), trainer=trainer)
    # Serialize with Qwen3's exact component settings, then add the chat tokens at the end.
    j = json.loads(tok.to_str())
    j["normalizer"] = {"type": "NFC"}
    j["pre_tokenizer"] = PRE_TOKENIZER
    j["post_processor"] = dict(BYTE_LEVEL)
    j["decoder"] = dict(BYTE_LEVEL)
    tok = Tokenizer.from_str(json.dumps(j))
    base = tok.get_vocab_size(with_added_tokens=True)
    for content, special in ADDED:
        at = AddedToken(content, single_word=False, lstrip=False, rstrip=False,
                        normalized=False, special=special)
        if special:
            tok.add_special_tokens([at])
        else:
            tok.add_tokens([at])
    assert tok.get_vocab_size(with_added_tokens=True) == base + len(ADDED)
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    write_config(tok, out_dir)
    return tok


def write_config(tok, out_dir):
    decoder = {}
    for content, special in ADDED:
        decoder[str(tok.token_to_id(content))] = {
            "content": content, "lstrip": False, "normalized": False, "rstrip": False,
            "single_word": False, "special": special}
    cfg = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "chat_template": cf.chat_template_text(),
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 4096,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
        f.write("\n")
