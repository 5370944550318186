"""The one case-folding rule of clusterbook, for every case-insensitive comparison.

Text is folded in Python, never by the database: once when it is written (into the ``*_folded``
columns and the execution search text) and once per operand when a query is compiled. The
database then compares folded text with folded text bytewise, so SQLite and PostgreSQL (of any
locale) agree, and SQLite needs no per-row Python function.

The rule is Unicode canonical caseless matching: NFD, full case folding (``str.casefold``), NFC.
So ``Straße`` ~ ``STRASSE``, ``ΌΣΟΣ`` ~ ``όσος`` (final sigma folds to sigma), ``İSTANBUL`` ~
``i̇stanbul`` (İ folds to i + U+0307), and a precomposed ``É`` ~ ``E`` + U+0301. Compatibility
forms (``ﬁ``, full-width letters) are not unified, and accents are kept (``echec`` ≠ ``échec``).
"""

from __future__ import annotations

import unicodedata
from typing import Any

FOLD_RULE = "NFC(casefold(NFD(text)))"


def fold(text: str) -> str:
    """``text`` in its caseless form; context-free, so a folded part of a text is part of its fold."""
    if text.isascii():
        return text.lower()  # the same result for ASCII, without two normalisation passes
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).casefold())


def fold_optional(text: str | None) -> str | None:
    return None if text is None else fold(text)


def fold_json(value: Any) -> Any:
    """A JSON value with every string value folded; keys, numbers, booleans and nulls unchanged, so a
    key path finds the same type of value in the folded copy as in the original."""
    if isinstance(value, str):
        return fold(value)
    if isinstance(value, dict):
        return {key: fold_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [fold_json(item) for item in value]
    return value
