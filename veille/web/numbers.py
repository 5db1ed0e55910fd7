"""Numbers from URLs, read so that no spelling of a number reaches the database as a 500.

`str.isdigit()` accepts "²" and "٣" that `int()` refuses or reads, and a 30-digit id overflows
SQLite's and PostgreSQL's 64-bit integers. Only ASCII digits are numbers here, and only up to
18 of them (below 2**63), so every value fits every integer column the store binds it to.
"""

from __future__ import annotations

import re

from starlette.convertors import Convertor, register_url_convertor

MAX_DIGITS = 18  # 10**18 - 1 < 2**63 - 1: an int64 whatever the digits
_NUMBER = re.compile(r"[0-9]{1,18}")  # MAX_DIGITS


def bounded_int(text: str | None, *, low: int = 0, high: int = 10**MAX_DIGITS - 1) -> int | None:
    """`text` as an int clamped to [low, high]; None unless it is 1-18 ASCII digits."""
    if not text or not _NUMBER.fullmatch(text):
        return None
    return max(low, min(int(text), high))


class IdConvertor(Convertor[int]):
    """`{item_id:id}` in a route: ASCII digits that fit a database id; others do not match the
    route (a 404), where Starlette's `int` would let 30 digits through to the database."""

    regex = "[0-9]{1,18}"  # MAX_DIGITS

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
