"""PostgreSQL ``COPY ... FROM STDIN`` text format for generated rows.

Owns one function, ``copy_text``: rows of str/int/None become tab-separated lines with
``\\N`` for NULL and backslash, tab, newline and carriage return escaped, as the COPY
text format requires. Generated values almost never hold those characters, so the
whole batch is joined first and checked with a few C-speed counts; only a batch that
fails the check is formatted again value by value.
"""

from __future__ import annotations

from collections.abc import Sequence

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(rows: Sequence[tuple]) -> str:
    """The rows in COPY text format, one line per row, each line ending in a newline."""
    if not rows:
        return ""
    text = "".join(
        ["\t".join([NULL if value is None else str(value) for value in row]) + "\n" for row in rows]
    )
    columns = len(rows[0])
    nulls = sum(row.count(None) for row in rows)
    clean = (
        text.count("\t") == (columns - 1) * len(rows)
        and text.count("\n") == len(rows)
        and text.count("\\") == nulls
        and "\r" not in text
    )
    if clean:
        return text
    return "".join(["\t".join([_escaped(value) for value in row]) + "\n" for row in rows])


def _escaped(value: object) -> str:
    if value is None:
        return NULL
    return str(value).translate(_ESCAPES)
