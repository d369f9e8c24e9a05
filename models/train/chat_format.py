"""tiny-calc's chat format: the calculator tool definition, system prompts, problem ->
OpenAI-style conversation, and a Python port of Qwen3's chat template for the message
shapes used here (checked byte for byte against the Jinja template by check_data.py locally
and against transformers' apply_chat_template by train.py on the GPU machine).

Training samples are lists of (text, is_target) pieces: the targets are assistant replies
(content, tool calls and the closing <|im_end|>). Pieces are cut only where the
tokenization cannot change (at added tokens, or between a newline and a reply that starts
with a letter or <tool_call>), so tokenizing pieces separately equals tokenizing the whole.
"""
import json
import os

from problems import solution_turns

TOOL = {
    "type": "function",
    "function": {
        "name": "calculator",
        "description": "Evaluate an integer arithmetic expression with + - * / and "
                       "parentheses. Division must be exact.",
        "parameters": {
            "type": "object",
            "properties": {
                "expression": {"type": "string",
                               "description": "The expression, e.g. 12 * (3 + 4)"},
            },
            "required": ["expression"],
        },
    },
}
TOOLS = [TOOL]

# The first one is the canonical prompt (evaluation, golden tests, README).
SYSTEM_PROMPTS = [
    "You solve arithmetic word problems. Use the calculator tool for every operation, "
    "then give the final line as 'Answer: N'.",
    "You solve arithmetic word problems. Use the calc tool.",
    "You are a helpful assistant.",
    "Solve the problem step by step with the calculator.",
    None,  # no system message (the template still renders the tools section)
]
SYSTEM_WEIGHTS = [0.5, 0.15, 0.1, 0.1, 0.15]

TEMPLATE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "qwen3_chat_template.jinja")


def chat_template_text():
    with open(TEMPLATE_PATH, encoding="utf-8") as f:
        return f.read()


def tool_call(expression, index=None):
    call = {"type": "function",
            "function": {"name": "calculator", "arguments": {"expression": expression}}}
    if index is not None:
        call = {"id": f"call_{index}", **call}
    return call


def conversation(problem, system=SYSTEM_PROMPTS[0], with_answer=True):
    """The solved problem as OpenAI messages (tools: TOOLS). with_answer=False stops after
    the user question."""
    msgs = []
    if system is not None:
        msgs.append({"role": "system", "content": system})
    msgs.append({"role": "user", "content": problem.text()})
    if not with_answer:
        return msgs
    n = 0
    for content, exprs, results in solution_turns(problem):
        if not exprs:
            msgs.append({"role": "assistant", "content": content})
            continue
        calls = []
        for e in exprs:
            calls.append(tool_call(e, n))
            n += 1
        msgs.append({"role": "assistant", "content": content, "tool_calls": calls})
        for k, r in enumerate(results):
            msgs.append({"role": "tool", "tool_call_id": calls[k]["id"], "content": r})
    return msgs


# ---- Qwen3 template, ported --------------------------------------------------------------

TOOLS_HEADER = ("# Tools\n\nYou may call one or more functions to assist with the user query."
                "\n\nYou are provided with function signatures within <tools></tools> XML "
                "tags:\n<tools>")
TOOLS_FOOTER = ("\n</tools>\n\nFor each function call, return a json object with function "
                "name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
                "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n"
                "</tool_call><|im_end|>\n")
EMPTY_THINK = "<think>\n\n</think>\n\n"


def tojson(x):
    return json.dumps(x, ensure_ascii=False)


def reply_text(message):
    """The assistant reply as the model writes it: content, tool calls, <|im_end|>."""
    content = message.get("content") or ""
    out = [content]
    for j, tc in enumerate(message.get("tool_calls") or []):
        if (j == 0 and content) or j > 0:
            out.append("\n")
        f = tc.get("function", tc)
        args = f["arguments"]
        out.append('<tool_call>\n{"name": "' + f["name"] + '", "arguments": '
                   + (args if isinstance(args, str) else tojson(args)) + "}\n</tool_call>")
    out.append("<|im_end|>")
    return "".join(out)


def render_pieces(messages, tools, add_generation_prompt=False, enable_thinking=None):
    """Qwen3's template as (text, is_target) pieces; "".join(texts) is the rendered prompt."""
    P = []

    def add(text, target=False):
        if text:
            P.append((text, target))

    first_system = messages and messages[0]["role"] == "system"
    if tools:
        add("<|im_start|>system\n")
        if first_system:
            add(messages[0]["content"] + "\n\n")
        add(TOOLS_HEADER + "".join("\n" + tojson(t) for t in tools) + TOOLS_FOOTER)
    elif first_system:
        add("<|im_start|>system\n" + messages[0]["content"] + "<|im_end|>\n")
    n = len(messages)
    last_query = n - 1
    for index in range(n - 1, -1, -1):
        m = messages[index]
        c = m.get("content") or ""
        if m["role"] == "user" and not (c.startswith("<tool_response>")
                                        and c.endswith("</tool_response>")):
            last_query = index
            break
    for i, m in enumerate(messages):
        role = m["role"]
        content = m.get("content") or ""
        if role == "user" or (role == "system" and i != 0):
            add("<|im_start|>" + role + "\n" + content + "<|im_end|>\n")
        elif role == "assistant":
            assert m.get("reasoning_content") is None and "</think>" not in content
            head = "<|im_start|>assistant\n"
            if i > last_query and i == n - 1:
                head += EMPTY_THINK
            add(head)
            add(reply_text(m), target=True)
            add("\n")
        elif role == "tool":
            if i == 0 or messages[i - 1]["role"] != "tool":
                add("<|im_start|>user")
            add("\n<tool_response>\n" + content + "\n</tool_response>")
            if i == n - 1 or messages[i + 1]["role"] != "tool":
                add("<|im_end|>\n")
    if add_generation_prompt:
        add("<|im_start|>assistant\n" + (EMPTY_THINK if enable_thinking is False else ""))
    return P


def render(messages, tools, add_generation_prompt=False, enable_thinking=None):
    return "".join(t for t, _ in render_pieces(messages, tools, add_generation_prompt,
                                               enable_thinking))


def _merge(pieces):
    """Joins neighbouring pieces of the same kind."""
    out = []
    for t, tg in pieces:
        if out and out[-1][1] == tg:
            out[-1] = (out[-1][0] + t, tg)
        else:
            out.append((t, tg))
    return out


def sample_full_template(messages, tools):
    """Mode 'template': the whole solved conversation as the template renders it (only the
    last reply has the empty think block); every reply is a target."""
    return _merge(render_pieces(messages, tools))


def sample_turn(messages, tools, k):
    """Mode 'turn': the prompt for assistant message k exactly as a runtime that re-renders
    the conversation each turn sends it (generation prompt, enable_thinking=False), and
    reply k as the only target."""
    prompt = render(messages[:k], tools, add_generation_prompt=True, enable_thinking=False)
    return [(prompt, False), (reply_text(messages[k]), True)]


def sample_append(messages, tools):
    """Mode 'append': every turn is the previous prompt + the reply as generated + the tool
    responses + a new generation prompt (a runtime that keeps the KV and appends), so every
    reply follows an empty think block; every reply is a target."""
    first = next(i for i, m in enumerate(messages) if m["role"] == "assistant")
    pieces = [(render(messages[:first], tools, True, False), False)]
    i = first
    while i < len(messages):
        pieces.append((reply_text(messages[i]), True))
        j = i + 1
        while j < len(messages) and messages[j]["role"] == "tool":
            j += 1
        if j > i + 1:
            tool_part = render_pieces(messages[i + 1:j], None)
            pieces.append(("\n" + "".join(t for t, _ in tool_part)
                           + "<|im_start|>assistant\n" + EMPTY_THINK, False))
        i = j
    return _merge(pieces)


def training_sample(rng, problem):
    """One training sample (pieces) for a problem, in a random mode and system prompt."""
    system = rng.choices(SYSTEM_PROMPTS, weights=SYSTEM_WEIGHTS)[0]
    msgs = conversation(problem, system)
    r = rng.random()
    if r < 0.4:
        return sample_append(msgs, TOOLS)
    if r < 0.7:
        return sample_full_template(msgs, TOOLS)
    turns = [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
    return sample_turn(msgs, TOOLS, rng.choice(turns))
