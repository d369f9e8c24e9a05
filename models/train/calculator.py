"""The calculator tool of tiny-calc: the reference implementation of its contract.

Contract (models/tiny-calc/README.md repeats it; agentrt's builtin calculator must give the
same strings):
  input   {"expression": "<text>"}: non-negative integer literals, + - * / ( ), unary minus,
          spaces anywhere between tokens; usual precedence, left associative.
  output  the exact integer result as a decimal string ("42", "-7"), or a line starting
          with "error: " when the expression cannot be evaluated exactly:
            "error: invalid expression"     (syntax, an empty expression, a stray character)
            "error: division by zero"
            "error: inexact division"       (a / b where b does not divide a)
            "error: number too large"       (any literal or intermediate |value| >= 10**15)
Integers are exact (no floats anywhere); "/" is exact division only.
"""

LIMIT = 10 ** 15


class CalcError(Exception):
    pass


def _tokens(text):
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t\n":
            i += 1
        elif ch.isascii() and ch.isdigit():
            j = i
            while j < len(text) and text[j].isascii() and text[j].isdigit():
                j += 1
            out.append(int(text[i:j]))
            i = j
        elif ch in "+-*/()":
            out.append(ch)
            i += 1
        else:
            raise CalcError("error: invalid expression")
    return out


class _Parser:
    def __init__(self, toks):
        self.toks = toks
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def expr(self):
        v = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            r = self.term()
            v = _check(v + r if op == "+" else v - r)
        return v

    def term(self):
        v = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            r = self.unary()
            if op == "*":
                v = _check(v * r)
            else:
                if r == 0:
                    raise CalcError("error: division by zero")
                if v % r != 0:
                    raise CalcError("error: inexact division")
                v = _check(v // r)
        return v

    def unary(self):
        if self.peek() == "-":
            self.take()
            return _check(-self.unary())
        return self.atom()

    def atom(self):
        t = self.take()
        if isinstance(t, int):
            return _check(t)
        if t == "(":
            v = self.expr()
            if self.take() != ")":
                raise CalcError("error: invalid expression")
            return v
        raise CalcError("error: invalid expression")


def _check(v):
    if abs(v) >= LIMIT:
        raise CalcError("error: number too large")
    return v


def evaluate(expression):
    """Returns the tool's response text for one expression (never raises)."""
    if not isinstance(expression, str):
        return "error: invalid expression"
    try:
        toks = _tokens(expression)
        if not toks:
            raise CalcError("error: invalid expression")
        p = _Parser(toks)
        v = p.expr()
        if p.peek() is not None:
            raise CalcError("error: invalid expression")
        return str(v)
    except CalcError as e:
        return str(e)
    except RecursionError:
        return "error: invalid expression"
