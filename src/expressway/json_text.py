"""Compact JSON for what Expressway writes most: token claims, token answers, and the JSON
columns of every row (a log event's details, a SCIM user's stored resource).

Written by orjson, which takes a tenth of the time :func:`json.dumps` does (6 µs to 0.4 for an
access token's claims; a SCIM user's stored resource 5-7 µs to 0.4-0.7). The bytes are those of
``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` but for a float's exponent
(``1e-7`` where :mod:`json` writes ``1e-07``) and a NaN or an infinity, which JSON has no words
for: orjson writes ``null``, as the Management API's answers always showed them. What orjson
cannot write (an integer past 64 bits, a key that is not a string) is written by :mod:`json`,
and what :mod:`json` refuses (a datetime, a dataclass, which orjson would write as it likes) is
refused as before.

Reading stays with :mod:`json` where a stored value is read back: orjson reads an integer past
64 bits as a float, which would change it.

What a client sends (a request body, a pasted document) and what a peer answers over HTTP is
read by :func:`parse`: :mod:`json`'s reader, so an integer past 64 bits is kept exact, but
refusing what RFC 8259 has no word for and :mod:`json` takes anyway (``NaN``, ``Infinity``,
``-Infinity``, a number too large for a double), which would be stored as a float no JSON can
hold and answered as ``null``, and a text in UTF-16 or UTF-32, which JSON between systems never
is.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any, NoReturn

import orjson

#: orjson hands these back (as a TypeError) instead of writing them.
_ONLY_JSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def compact(value: Any) -> bytes:
    """``value`` as compact JSON in UTF-8."""
    try:
        return orjson.dumps(value, option=_ONLY_JSON)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def compact_text(value: Any) -> str:
    """:func:`compact` as text (a JSON column's value)."""
    return compact(value).decode()


class _Unreadable(ValueError):
    """A value :mod:`json` would read but JSON has no word for; ``literal`` as it was written."""

    def __init__(self, literal: str, reason: str) -> None:
        super().__init__(reason)
        self.literal = literal
        self.reason = reason


def _refuse_constant(name: str) -> NoReturn:
    raise _Unreadable(name, f"{name} is not JSON (RFC 8259 has no NaN, Infinity or -Infinity)")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        # Valid JSON, but beyond a double: json would read it as an infinity.
        shown = literal if len(literal) <= 40 else f"{literal[:40]}…"
        raise _Unreadable(literal, f"the number {shown} is too large (beyond a 64-bit float)")
    return value


_READER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)

#: The tokens of a JSON text: a string whole, or a run of a number's or a name's characters.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|-?[\w.+-]+', re.DOTALL)


def _position(text: str, literal: str) -> int:
    """Where ``literal`` first stands as a token of its own: the text before it was read, so
    that is where the reader refused it."""
    for token in _TOKENS.finditer(text):
        if token.group() == literal:
            return token.start()
    return 0


def parse(raw: bytes | str) -> Any:
    """A JSON text (RFC 8259) read as :func:`json.loads` reads it (integers exact, past 64 bits
    too), every refusal a :class:`json.JSONDecodeError` whose ``msg`` names the problem, so that
    a caller's ``except`` for malformed JSON covers them all.

    Refused besides what :func:`json.loads` refuses: bytes in UTF-16 or UTF-32, which
    :func:`json.loads` detects and reads, ``NaN``, ``Infinity`` and ``-Infinity``, a number
    beyond a double's range (``1e400``), a surrogate encoded in UTF-8, and a string holding a
    surrogate its ``\\u`` escapes leave unpaired (``"\\uD800"``). Refused as malformed JSON
    where :func:`json.loads` raises another exception: bytes not valid UTF-8, nesting deeper than
    the interpreter's recursion allows, an integer of more digits than ``int()`` converts.
    """
    if isinstance(raw, str):
        text = raw
    else:
        encoding = json.detect_encoding(raw)
        # RFC 8259 section 8.1: JSON exchanged between systems "MUST be encoded using UTF-8".
        # A UTF-8 byte order mark is still UTF-8, and the section lets a reader ignore it
        # rather than treat it as an error: it is skipped, as it always was here, so a client
        # whose tool writes one (Windows PowerShell's UTF8 encoding does) keeps working for a
        # mark that changes nothing in what it sent.
        if encoding not in ("utf-8", "utf-8-sig"):
            problem = f"the text is {encoding.upper()}, not UTF-8 (RFC 8259 section 8.1)"
            raise json.JSONDecodeError(problem, "", 0)
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError("the text is not valid UTF-8", "", exc.start) from None
    try:
        value = _READER.decode(text)
    except _Unreadable as exc:
        raise json.JSONDecodeError(exc.reason, text, _position(text, exc.literal)) from None
    except RecursionError:
        raise json.JSONDecodeError("the text is nested too deeply", text, 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError:
        # int() refuses an integer of more digits than the interpreter converts.
        limit = sys.get_int_max_str_digits()
        raise json.JSONDecodeError(f"an integer has more than {limit} digits", text, 0) from None
    if _SURROGATE_ESCAPE.search(text) is not None:
        _refuse_lone_surrogates(text, value)
    return value


#: A ``\\u`` escape of a UTF-16 surrogate (``\\uD800`` to ``\\uDFFF``), or one preceded by an
#: escaped backslash, which is only text: the search is a cheap test of whether to look further.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _refuse_lone_surrogates(text: str, value: Any) -> None:
    """Refuse a string (a key or a value) holding a surrogate its escapes did not pair: RFC 8259
    section 8.2 leaves such a string unreadable, and no UTF-8 text, so no database, can hold it.
    A pair (``\\uD83D\\uDE00``) is read as the one character it encodes and passes."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                match = _SURROGATE_ESCAPE.search(text)
                raise json.JSONDecodeError(
                    "a string holds a lone surrogate (\\uD800 to \\uDFFF not in a pair)",
                    text,
                    match.start() if match else 0,
                ) from None
