"""Multi-step arithmetic word problems for tiny-calc, in the spirit of GSM-Infinite.

A problem is a small computation graph over quantities "<person>'s <item>". The quantity
asked about depends on `ops` derived quantities (each one arithmetic operation on one or two
others, or on a constant); `distractors` facts that the answer does not need are mixed in:
  - other people's amounts of the same item (given outright or derived from any quantity),
  - the same people's amounts of another item.
All facts are shuffled. Every value is an integer in [2, 999], every division is exact.

The solution computes the needed quantities level by level (a quantity's level is one more
than its deepest input's): one assistant turn per level, one calculator call per quantity,
each call preceded by a line naming it ("Ben's marbles = Mia's marbles + 3"). The last
turn states the result and ends with "Answer: N".

Pure Python (no third-party packages); deterministic for a given random.Random.
"""
import random

NAMES = [
    "Mia", "Ben", "Cara", "Dan", "Eve", "Finn", "Gina", "Hugo", "Ivy", "Jack", "Kate", "Leo",
    "Lily", "Max", "Nina", "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera",
    "Will", "Xena", "Yuri", "Zoe", "Adam", "Beth", "Carl", "Dora", "Emil", "Fay", "Gus",
    "Hana", "Ian", "Jade", "Kim", "Luis", "Maya",
]
ITEMS = [
    "apples", "marbles", "stamps", "coins", "books", "pencils", "cards", "shells", "stickers",
    "buttons", "beads", "cookies", "flowers", "rocks", "balloons", "candles", "tickets",
    "oranges", "cups", "keys",
]
MUL_WORDS = {2: "twice", 3: "three times", 4: "four times", 5: "five times"}
DIV_WORDS = {2: "half", 3: "a third", 4: "a quarter"}
MIN_VALUE, MAX_VALUE = 2, 999


class Quantity:
    __slots__ = ("person", "item", "value", "op", "args", "const", "level")

    def __init__(self, person, item):
        self.person, self.item = person, item
        self.value = None
        self.op = "given"  # given | add | sub | mul | div | sum | diff
        self.args = []     # input quantities
        self.const = None
        self.level = 0

    @property
    def label(self):
        return f"{self.person}'s {self.item}"

    def fact(self):
        p, it = self.person, self.item
        a = [q.person for q in self.args]
        if self.op == "given":
            return f"{p} has {self.value} {it}."
        if self.op == "add":
            return f"{p} has {self.const} more {it} than {a[0]}."
        if self.op == "sub":
            return f"{p} has {self.const} fewer {it} than {a[0]}."
        if self.op == "mul":
            return f"{p} has {MUL_WORDS[self.const]} as many {it} as {a[0]}."
        if self.op == "div":
            return f"{p} has {DIV_WORDS[self.const]} as many {it} as {a[0]}."
        if self.op == "sum":
            return f"{p} has as many {it} as {a[0]} and {a[1]} together."
        if self.op == "diff":
            return f"{p} has as many {it} as {a[0]} has more than {a[1]}."
        raise ValueError(self.op)

    def symbolic(self):
        """'Ben's marbles = Mia's marbles + 3' (the line written before the call)."""
        a = [q.label for q in self.args]
        rhs = {
            "add": lambda: f"{a[0]} + {self.const}",
            "sub": lambda: f"{a[0]} - {self.const}",
            "mul": lambda: f"{a[0]} * {self.const}",
            "div": lambda: f"{a[0]} / {self.const}",
            "sum": lambda: f"{a[0]} + {a[1]}",
            "diff": lambda: f"{a[0]} - {a[1]}",
        }[self.op]()
        return f"{self.label} = {rhs}"

    def expression(self):
        """The calculator expression with the inputs' values substituted: '7 + 3'."""
        v = [q.value for q in self.args]
        return {
            "add": lambda: f"{v[0]} + {self.const}",
            "sub": lambda: f"{v[0]} - {self.const}",
            "mul": lambda: f"{v[0]} * {self.const}",
            "div": lambda: f"{v[0]} / {self.const}",
            "sum": lambda: f"{v[0]} + {v[1]}",
            "diff": lambda: f"{v[0]} - {v[1]}",
        }[self.op]()


def _choose_unary(rng, q, x):
    """Sets q's unary op on input x (value known) so that the result stays in range."""
    v = x.value
    choices = ["add", "mul", "sub", "div"]
    rng.shuffle(choices)
    for op in choices:
        if op == "add":
            c = rng.randint(1, 12)
            if v + c <= MAX_VALUE:
                q.op, q.const, q.value = op, c, v + c
                break
        elif op == "sub":
            if v - 1 >= MIN_VALUE:
                c = rng.randint(1, min(12, v - MIN_VALUE))
                q.op, q.const, q.value = op, c, v - c
                break
        elif op == "mul":
            ks = [k for k in MUL_WORDS if v * k <= MAX_VALUE]
            if ks:
                k = rng.choice(ks)
                q.op, q.const, q.value = op, k, v * k
                break
        elif op == "div":
            ks = [k for k in DIV_WORDS if v % k == 0 and v // k >= MIN_VALUE]
            if ks:
                k = rng.choice(ks)
                q.op, q.const, q.value = op, k, v // k
                break
    else:  # v == MAX_VALUE and nothing fits: impossible for v >= 4; fall back to sub 1
        q.op, q.const, q.value = "sub", 1, v - 1
    q.args = [x]


def _choose_binary(rng, q, x, y):
    if x.value + y.value <= MAX_VALUE and (rng.random() < 0.6 or x.value == y.value):
        q.op, q.args, q.value = "sum", [x, y], x.value + y.value
    elif x.value != y.value:
        hi, lo = (x, y) if x.value > y.value else (y, x)
        if hi.value - lo.value >= MIN_VALUE:
            q.op, q.args, q.value = "diff", [hi, lo], hi.value - lo.value
        else:
            _choose_unary(rng, q, x)
    else:
        _choose_unary(rng, q, x)


def _given(rng, person, item):
    q = Quantity(person, item)
    q.value = rng.randint(MIN_VALUE, 20)
    return q


class Problem:
    def __init__(self, facts, question, target, needed, ops, distractors):
        self.facts = facts          # list[Quantity] in text order (the given and derived ones)
        self.question = question    # "How many marbles does Eve have?"
        self.target = target        # Quantity asked about
        self.needed = needed        # derived quantities to compute, in solution order
        self.ops = ops
        self.distractors = distractors

    @property
    def answer(self):
        return self.target.value

    def text(self):
        return " ".join(q.fact() for q in self.facts) + " " + self.question

    def levels(self):
        """Needed derived quantities grouped by level (one assistant turn per level)."""
        out = {}
        for q in self.needed:
            out.setdefault(q.level, []).append(q)
        return [out[k] for k in sorted(out)]


def generate(rng, ops, distractors):
    """One problem whose answer needs exactly `ops` operations, with `distractors` extra facts."""
    assert ops >= 1 and distractors >= 0
    items = rng.sample(ITEMS, 2)
    item, other_item = items
    people = rng.sample(NAMES, len(NAMES))
    next_person = iter(people)

    # Shape, top down: the target is derived; each derived node has one or two inputs, which
    # are derived while operations remain, else given. Inputs may be shared (a DAG).
    target = Quantity(next(next_person), item)
    derived = [target]
    given = []
    frontier = [target]
    arity = {}
    remaining = ops - 1
    while frontier:
        node = frontier.pop(0)
        n_in = 2 if rng.random() < 0.35 else 1
        arity[id(node)] = n_in
        ins = []
        for _ in range(n_in):
            if remaining > 0 and (rng.random() < 0.8 or not frontier):
                child = Quantity(next(next_person), item)
                derived.append(child)
                frontier.append(child)
                remaining -= 1
            else:
                pool = [g for g in given if g not in ins]
                if pool and rng.random() < 0.25:
                    child = rng.choice(pool)  # reuse a given quantity
                else:
                    child = _given(rng, next(next_person), item)
                    given.append(child)
            ins.append(child)
        node.args = ins

    # Values and ops, bottom up (derived[] is in BFS order, so reversed is topological).
    for q in reversed(derived):
        ins = q.args
        if len(ins) == 2:
            _choose_binary(rng, q, ins[0], ins[1])
        else:
            _choose_unary(rng, q, ins[0])
        q.level = 1 + max(x.level for x in q.args)
    # A fallback to a unary op may have dropped an input: keep only quantities still used.
    used = set()

    def mark(q):
        if id(q) in used:
            return
        used.add(id(q))
        for x in q.args:
            mark(x)
    mark(target)
    derived = [q for q in derived if id(q) in used]
    given = [q for q in given if id(q) in used]
    if len(derived) != ops:  # a binary node fell back to unary and lost a derived branch
        return generate(rng, ops, distractors)

    # Distractors.
    relevant = derived + given
    pool = list(relevant)
    extra = []
    other_people = [q.person for q in relevant]
    for _ in range(distractors):
        kind = rng.random()
        if kind < 0.3:
            d = _given(rng, next(next_person), item)
        elif kind < 0.7:
            d = Quantity(next(next_person), item)
            src = rng.choice(pool)
            if rng.random() < 0.25 and len(pool) >= 2:
                x, y = rng.sample(pool, 2)
                _choose_binary(rng, d, x, y)
            else:
                _choose_unary(rng, d, src)
        else:
            if other_people:
                person = other_people.pop(rng.randrange(len(other_people)))
            else:
                person = next(next_person)
            d = Quantity(person, other_item)
            same = [e for e in extra if e.item == other_item]
            if same and rng.random() < 0.5:
                _choose_unary(rng, d, rng.choice(same))
            else:
                d.value = rng.randint(MIN_VALUE, 20)
        if d.item == item:
            pool.append(d)
        extra.append(d)

    facts = given + derived + extra
    rng.shuffle(facts)
    # Solution order: by level, then by position in the text.
    pos = {id(q): i for i, q in enumerate(facts)}
    needed = sorted(derived, key=lambda q: (q.level, pos[id(q)]))
    question = f"How many {item} does {target.person} have?"
    return Problem(facts, question, target, needed, ops, distractors)


def solution_turns(problem):
    """The assistant side of the solution: [(content, [expression, ...], [result, ...]), ...]
    with the final turn as (content, [], [])."""
    turns = []
    for level in problem.levels():
        content = "\n".join(q.symbolic() for q in level)
        turns.append((content, [q.expression() for q in level], [str(q.value) for q in level]))
    t = problem.target
    turns.append((f"{t.person} has {t.value} {t.item}.\nAnswer: {t.value}", [], []))
    return turns


# Difficulty levels of the evaluation table: (ops, distractors).
EVAL_LEVELS = [(1, 1), (2, 2), (3, 3), (4, 4), (6, 6), (8, 8), (10, 10)]
TRAIN_MAX_OPS = 8


def sample_train_difficulty(rng):
    ops = rng.randint(1, TRAIN_MAX_OPS)
    return ops, rng.randint(0, ops + 2)
