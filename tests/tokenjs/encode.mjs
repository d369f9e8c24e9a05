// Reference ids for the SentencePiece-style golden test (engine/tokenizer/tokenizer_sp_golden.test.cpp).
// Usage: node encode.mjs TOKENIZERS_DIR OUT.jsonl TEXTS.jsonl... [--models a,b]
// Writes one JSON line per (model, text): ids without and with special tokens, and the
// decodes of both (keeping and skipping special tokens).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let Tokenizer;
try {
  ({ Tokenizer } = require("@huggingface/tokenizers"));
} catch (e) {
  console.error(
    "tests/tokenjs: @huggingface/tokenizers is not installed: run `npm ci` in tests/tokenjs (" +
      e.message + ")");
  process.exit(3);
}

const args = process.argv.slice(2);
let models = ["gemma3", "llama2"];
const mi = args.indexOf("--models");
if (mi >= 0) {
  models = args[mi + 1].split(",");
  args.splice(mi, 2);
}
const [dir, out, ...textFiles] = args;
const texts = [];
for (const f of textFiles)
  for (const line of readFileSync(f, "utf8").split("\n"))
    if (line.trim() !== "") texts.push(JSON.parse(line));

const rows = [];
for (const model of models) {
  const json = JSON.parse(readFileSync(`${dir}/${model}/tokenizer.json`, "utf8"));
  const config = JSON.parse(readFileSync(`${dir}/${model}/tokenizer_config.json`, "utf8"));
  const tok = new Tokenizer(json, config);
  for (const text of texts) {
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    const ids_special = tok.encode(text, { add_special_tokens: true }).ids;
    // HF `tokenizers` decodes without transformers' clean_up_tokenization_spaces; Tokenizers.js
    // throws on an empty id list where HF returns "".
    const decode = (skip) => ids_special.length === 0 ? "" :
      tok.decode(ids_special, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });
    rows.push(JSON.stringify({
      model, text, ids, ids_special, decoded: decode(false), decoded_skip_special: decode(true),
    }));
  }
}
writeFileSync(out, rows.join("\n") + "\n");
