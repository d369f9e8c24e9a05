// Renders the golden cases with the reference renderer @huggingface/jinja (pinned in
// package-lock.json) and writes OUTDIR/expected.jsonl: one {name, template, context, text}
// (or {..., error}) per case. jinja_golden_tests then renders the same template and context
// with agentrt's interpreter and compares byte for byte.
//   node tests/jinja/render.mjs OUTDIR
// Cases: every conversation of tests/tokenizer/conversations.json with each real chat
// template (AGENTRT_TOKENIZERS_DIR or ~/.cache/agentrt/tokenizers/NAME/tokenizer_config.json),
// plus the hand-written feature templates of features.json (those marked with_conversations
// are rendered on every conversation too).
import { Template } from "@huggingface/jinja";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error("usage: node render.mjs OUTDIR");
  process.exit(2);
}
const tokDir =
  process.env.AGENTRT_TOKENIZERS_DIR || path.join(os.homedir(), ".cache/agentrt/tokenizers");
const names = ["qwen3", "llama3_1", "llama3_2", "llama3", "gemma3", "deepseek_v3"];
const conversations = JSON.parse(
  fs.readFileSync(path.join(here, "../tokenizer/conversations.json"), "utf8"),
);
const features = JSON.parse(fs.readFileSync(path.join(here, "features.json"), "utf8"));

const tokenText = (t) => (t && typeof t === "object" ? t.content : t ?? "");
const lines = [];
const render = (name, template, context) => {
  const row = { name, template, context };
  try {
    row.text = new Template(template).render(context);
  } catch (e) {
    row.error = String(e && e.message ? e.message : e);
  }
  lines.push(JSON.stringify(row));
};

for (const name of names) {
  const file = path.join(tokDir, name, "tokenizer_config.json");
  if (!fs.existsSync(file)) {
    console.error(`${file} is missing: run scripts/fetch_tokenizers.sh (or set AGENTRT_TOKENIZERS_DIR)`);
    process.exit(1);
  }
  const config = JSON.parse(fs.readFileSync(file, "utf8"));
  let template = config.chat_template;
  if (Array.isArray(template)) template = template.find((t) => t.name === "default").template;
  for (const conv of conversations) {
    // As transformers' apply_chat_template: tools=None when absent, a fixed date.
    const context = {
      messages: conv.messages,
      tools: conv.tools ?? null,
      add_generation_prompt: conv.add_generation_prompt,
      bos_token: tokenText(config.bos_token),
      eos_token: tokenText(config.eos_token),
      date_string: "26 Jul 2024",
      ...(conv.kwargs ?? {}),
    };
    render(`${name}/${conv.name}`, template, context);
  }
}
for (const f of features) {
  if (!f.with_conversations) {
    render(`feature/${f.name}`, f.template, f.context ?? {});
    continue;
  }
  // A realistic template: rendered on every conversation, like the real ones.
  for (const conv of conversations) {
    const context = {
      messages: conv.messages,
      tools: conv.tools ?? null,
      add_generation_prompt: conv.add_generation_prompt,
      bos_token: "<s>",
      eos_token: "</s>",
      ...(conv.kwargs ?? {}),
    };
    render(`feature/${f.name}/${conv.name}`, f.template, context);
  }
}

fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "expected.jsonl"), lines.join("\n") + "\n");
console.log(`jinja golden: ${lines.length} cases rendered by @huggingface/jinja into ${out}`);
