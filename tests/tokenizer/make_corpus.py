#!/usr/bin/env python3
"""Writes tests/tokenizer/corpus.jsonl: one JSON string per line, a mixed corpus for
tokenizer golden tests (prose, code, numbers, whitespace, scripts, emoji, special tokens).
Pure Python and deterministic (fixed seed): re-running it reproduces the same file."""
import json
import os
import random
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))

PROSE = [
    "Hello world",
    "Hello, world!",
    " Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "It was the best of times, it was the worst of times, it was the age of wisdom, "
    "it was the age of foolishness.",
    "Tokenizers split text into pieces; each piece maps to an id in the vocabulary.",
    "She said, \"I can't believe it's already 5 o'clock!\" and left.",
    "THE CAT'S TOY ISN'T HERE. WE'RE LATE, THEY'VE GONE, I'M SURE YOU'LL SEE, HE'D KNOW.",
    "it's they're we've I'm you'll he'd don't won't shouldn't y'all",
    "John's book; JOHN'S BOOK; John'S; 'quoted' words; ''double''",
    "Mr. Smith (aged 42) moved to the U.S.A. in 1999 -- or was it 2001?",
    "e-mail: someone@example.com, url: https://example.org/path?q=1&r=two#frag",
    "A sentence with    multiple     spaces between words.",
    "Trailing spaces here   ",
    "   Leading spaces here",
    "Line one\nLine two\n\nLine four after a blank line\n",
    "\n\n\n",
    "   \n",
    "\t\tTabbed\tcolumns\there\t",
    "mixed \r\n windows \r\n line \r endings\r\n",
    " ",
    "  ",
    "\n",
    "a",
    "word\n    indented\n        more\n",
    "end with newline and spaces \n   ",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",
]

CODE = [
    "#include <vector>\n\nint main() {\n  std::vector<int> v{1, 2, 3};\n"
    "  for (auto& x : v) x *= 2;\n  return v.size() > 2 ? 0 : 1;\n}\n",
    "template <class T>\nT clamp(T x, T lo, T hi) { return x < lo ? lo : (x > hi ? hi : x); }",
    "def fib(n: int) -> int:\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"
    "    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "if __name__ == '__main__':\n\tprint(f\"{fib(30)=}\")\n",
    "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}",
    "{\n  \"key\": [1, 2.5, -3e10, true, false, null],\n  \"nested\": {\"a\": \"b\\n\\\"c\\\"\"}\n}",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%son' ORDER BY id DESC;",
    "const f = (a, b) => a ?? b; // nullish\nlet s = `template ${f(1, 2)}`;",
    "x+=1;y-=2;z*=3;w/=4;p%=5;q<<=6;r>>=7;a&&b||c!=d==e",
    "    return self._cache.get(key, None)  # trailing comment   ",
    "<html><body><p class=\"x\">Hi &amp; bye</p></body></html>",
    "fn main() { let v: Vec<u8> = b\"bytes\".to_vec(); println!(\"{:?}\", v); }",
    "$ ls -la /usr/local/bin | grep -E '^-rwx' | wc -l",
    "diff --git a/x.cpp b/x.cpp\n@@ -1,3 +1,4 @@\n-old line\n+new line\n context\n",
]

NUMBERS = [
    "1234567890",
    "12345678901234567890123456789012345678901234567890",
    "3.14159265358979323846",
    "1,234,567 and 1.234.567 and 1 234 567",
    "0.0001 -42 +17 1e-9 6.022e23 0x1F 0b1010 0o777",
    "The year 2024 had 366 days; 2023 had 365.",
    "Version 1.2.3-rc.4+build.5678",
    "Phone: +1 (555) 123-4567",
    "99.99% of 100,000,000 is 99,990,000",
    "١٢٣٤٥ ٦٧٨٩٠ (Arabic-Indic digits) and ４５６ (fullwidth) and ½ ¾ ²³",
]

SCRIPTS = [
    "你好，世界！今天天气很好。",
    "机器学习是人工智能的一个分支，它使计算机能够从数据中学习。",
    "日本語のテキスト：東京は日本の首都です。ひらがなとカタカナ。",
    "한국어 텍스트: 안녕하세요, 만나서 반갑습니다.",
    "Ελληνικά: Η γρήγορη καφέ αλεπού.",
    "Русский текст: Съешь же ещё этих мягких французских булок.",
    "مرحبا بالعالم! هذا نص عربي للاختبار.",
    "שלום עולם, זהו טקסט בעברית.",
    "नमस्ते दुनिया, यह हिंदी में एक वाक्य है।",
    "ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "Tiếng Việt có nhiều dấu: Tôi yêu tiếng Việt.",
    "Mixed 中文 and English 混合 text 123 测试。",
    "Zalgo: Z̴͉̓a̶̰͝l̸̗̈g̵̱̓o̷̪͝",
    "Ligatures ﬁ ﬂ, compatibility ｆｕｌｌｗｉｄｔｈ, Ångström Å vs Å",
    "Hangul jamo: \u1100\u1161\u11a8 vs precomposed \uac01",
]

EMOJI = [
    "I love pizza 🍕 and tacos 🌮!",
    "Family: 👨‍👩‍👧‍👦 Couple: 👩‍❤️‍👨 Rainbow flag: 🏳️‍🌈",
    "Flags: 🇫🇷 🇯🇵 🇺🇸 🇧🇷",
    "Skin tones: 👍🏻 👍🏼 👍🏽 👍🏾 👍🏿",
    "😀😃😄😁😆😅🤣😂🙂🙃",
    "Keycaps: 1️⃣ 2️⃣ #️⃣ and variation ☺︎ vs ☺️",
    "🧑🏽‍💻 wrote code at 3am ☕☕☕",
]

ACCENTS = [
    "café naïve résumé façade jalapeño Zürich",
    unicodedata.normalize("NFD", "café naïve résumé façade jalapeño Zürich"),
    "e\u0301 vs \u00e9; a\u0308 vs \u00e4; n\u0303 vs \u00f1",
    "A\u030a vs \u00c5 vs \u212b (angstrom sign)",
    "o\u0323\u0302 vs o\u0302\u0323 vs \u1ed9",
    unicodedata.normalize("NFD", "Tiếng Việt có nhiều dấu"),
    unicodedata.normalize("NFD", "한국어 텍스트"),
    "\u0915\u093c vs \u0958 (Devanagari nukta)",
    "\u2126 ohm sign, \u03a9 omega",
]

SPECIAL = [
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
    "<|im_start|>assistant\n",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>",
    "<|begin_of_text|>",
    "<|eot_id|>",
    "<|endoftext|>",
    "a partial <|im_sta and <|eot_i and <|begin_of",
    "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>",
    "<think>\nLet me think.\n</think>\n\nAnswer.",
    "text<|im_end|>text<|im_start|>text",
    "  <|im_start|>  spaced  <|im_end|>  ",
    "<|im_start|><|im_start|><|im_end|><|im_end|>",
    "<|reserved_special_token_5|> and <|python_tag|>",
    "<tool_response>\n42\n</tool_response>",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
    "< |im_start| > not special, <|IM_START|> not special",
]


def random_strings(rng, count):
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " \t\n\r",
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "éèêëàâäôöûüçñßøå",
        "你好世界中文字符测试",
        "こんにちはカタカナ",
        "안녕하세요",
        "😀🍕🇫🇷👍🏽‍",
        "\u0301\u0308\u0323\u0302",
        "αβγδεζηθ",
        "абвгдежз",
    ]
    out = []
    for _ in range(count):
        n = rng.randint(1, 80)
        chosen = rng.sample(pools, rng.randint(1, 4))
        out.append("".join(rng.choice(rng.choice(chosen)) for _ in range(n)))
    return out


def random_words(rng, count):
    words = ("the of and to in is was for on that with as by at from his her it an were are "
             "which this be or has had not but what all when can said there use each how "
             "their if will up other about out many then them these so some would make like "
             "into time has look two more write go see number no way could people my than "
             "first water been call who oil its now find long down day did get come made may "
             "part").split()
    out = []
    for _ in range(count):
        n = rng.randint(20, 200)
        out.append(" ".join(rng.choice(words) for _ in range(n)).capitalize() + ".")
    return out


def main():
    rng = random.Random(20240611)
    lines = PROSE + CODE + NUMBERS + SCRIPTS + EMOJI + ACCENTS + SPECIAL
    lines += random_strings(rng, 90)
    lines += random_words(rng, 30)
    path = os.path.join(HERE, "corpus.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"wrote {len(lines)} lines, {os.path.getsize(path)} bytes to {path}")


if __name__ == "__main__":
    main()
