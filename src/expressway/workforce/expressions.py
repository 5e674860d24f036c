"""Okta's ``filter`` and ``search`` expressions, parsed into a small tree; no I/O.

The grammar (SCIM's, RFC 7644 §3.4.2.2, as Okta uses it)::

    expression := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "(" expression ")" | attribute "pr" | attribute operator value
    operator   := eq | ne | gt | ge | lt | le | sw | co
    value      := "a string" | true | false | null | a number

Operators and keywords are case-insensitive; attribute names are not. The size of an expression
is bounded (:data:`MAX_COMPARISONS`, :data:`MAX_DEPTH`) so that a hostile one costs no more
than a long legitimate one. What each attribute and operator *mean* is the caller's business: see
``expressway.workforce.services.queries``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le", "sw", "co")
MAX_COMPARISONS = 50
MAX_DEPTH = 10

Value = str | bool | int | float | None


class ExpressionError(ValueError):
    """The expression cannot be parsed; the message says where and why."""


@dataclass(frozen=True)
class Comparison:
    attribute: str
    operator: str
    value: Value


@dataclass(frozen=True)
class Present:
    attribute: str


@dataclass(frozen=True)
class And:
    parts: tuple[Expression, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Expression, ...]


Expression = Comparison | Present | And | Or

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\()
      | (?P<rparen>\))
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
      | (?P<word>[A-Za-z_$][\w.$:-]*)
    )""",
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise ExpressionError(f"unexpected character at position {position}")
        start = match.start(match.lastgroup)
        tokens.append(_Token(match.lastgroup, match.group(match.lastgroup), start))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.comparisons = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self.index += 1
            return True
        return False

    def expression(self, depth: int) -> Expression:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"parentheses nest deeper than {MAX_DEPTH}")
        parts = [self.term(depth)]
        while self.keyword("or"):
            parts.append(self.term(depth))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def term(self, depth: int) -> Expression:
        parts = [self.factor(depth)]
        while self.keyword("and"):
            parts.append(self.factor(depth))
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def factor(self, depth: int) -> Expression:
        token = self.take()
        if token.kind == "lparen":
            inner = self.expression(depth + 1)
            closing = self.take()
            if closing.kind != "rparen":
                raise ExpressionError(f"expected ')' at position {closing.position}")
            return inner
        if token.kind != "word" or token.text.lower() in ("and", "or"):
            raise ExpressionError(f"expected an attribute at position {token.position}")
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise ExpressionError(f"more than {MAX_COMPARISONS} comparisons")
        operator = self.take()
        name = operator.text.lower()
        if operator.kind == "word" and name == "pr":
            return Present(token.text)
        if operator.kind != "word" or name not in OPERATORS:
            raise ExpressionError(
                f"unknown operator {operator.text!r} at position {operator.position}"
            )
        return Comparison(token.text, name, self.value())

    def value(self) -> Value:
        token = self.take()
        if token.kind == "string":
            return _ESCAPE.sub(r"\1", token.text[1:-1])
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        if token.kind == "word" and token.text.lower() == "null":
            return None
        raise ExpressionError(
            f'expected a value (a "quoted string", a number, true, false or null) at position '
            f"{token.position}"
        )


def parse(text: str) -> Expression:
    """Parse ``text``; raises :class:`ExpressionError` naming what is wrong and where."""
    parser = _Parser(text)
    if not parser.tokens:
        raise ExpressionError("the expression is empty")
    tree = parser.expression(0)
    rest = parser.peek()
    if rest is not None:
        raise ExpressionError(f"unexpected {rest.text!r} at position {rest.position}")
    return tree
