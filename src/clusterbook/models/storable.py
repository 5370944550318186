"""What a database can keep exactly, and read back: valid Unicode text without NUL characters,
finite numbers, and document metadata of bounded nesting and size.

PostgreSQL refuses NUL in text, JSON keeps no NaN/Infinity, and a lone UTF-16 surrogate (``"\\ud800"``
in JSON) cannot be encoded as UTF-8 at all: such values would fail deep in the database or in the
response (a 500), be stored changed (SQLite turns a surrogate key into U+FFFD) or break every later
read of the collection. Metadata nested hundreds deep is stored fine but can no longer be
serialised. All of these are refused up front, by this one module, before anything is written.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_METADATA_DEPTH = 32
"""Levels of objects/arrays in one document's metadata; the metadata object itself is level 1."""
MAX_METADATA_BYTES = 64 * 1024
"""Size of one document's metadata as compact UTF-8 JSON."""
MAX_METADATA_KEY_LENGTH = 256
"""Characters in one metadata key."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str, what: str = "text") -> str | None:
    """Why a string cannot be stored faithfully (``what`` names it in the message), or ``None``."""
    if "\x00" in text:
        return f"{what} may not contain NUL characters"
    if not text.isascii() and _SURROGATE.search(text):
        return f"{what} may not contain lone UTF-16 surrogates (\\ud800-\\udfff); send valid Unicode text"
    return None


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def find_unstorable(value: Any, path: str = "") -> tuple[str, str] | None:
    """``(where, problem)`` for the first place in a JSON-like value that a database cannot keep
    faithfully, or ``None``. Iterative, so any nesting depth is safe to walk."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        problem: str | None = None
        if isinstance(item, str):
            problem = text_problem(item)
        elif isinstance(item, float):
            problem = None if math.isfinite(item) else "numbers must be finite (no NaN or Infinity)"
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = text_problem(key, "keys") if isinstance(key, str) else None
                if problem:
                    break
                stack.append((child, _join(where, str(key))))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
        if problem:
            return where or "body", problem
    return None


def unstorable_reason(value: Any, path: str = "") -> str | None:
    """``"where: problem"`` for :func:`find_unstorable`, or ``None``."""
    found = find_unstorable(value, path)
    return None if found is None else f"{found[0]}: {found[1]}"


def metadata_problem(metadata: dict[str, Any], path: str = "metadata") -> str | None:
    """Why one document's metadata cannot be stored (bounds first, then :func:`unstorable_reason`), or ``None``."""
    stack: list[tuple[Any, str, int]] = [(metadata, path, 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_METADATA_DEPTH:
                return f"{where}: metadata may be nested at most {MAX_METADATA_DEPTH} levels deep; flatten it"
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and len(key) > MAX_METADATA_KEY_LENGTH:
                        return (f"{where}: metadata keys may be at most {MAX_METADATA_KEY_LENGTH} characters "
                                f"(one has {len(key)})")  # fmt: skip
                    stack.append((child, _join(where, key), depth + 1))
            else:
                stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item))
    reason = unstorable_reason(metadata, path)
    if reason:
        return reason
    size = len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_METADATA_BYTES:
        return f"{path}: metadata may be at most {MAX_METADATA_BYTES} bytes as JSON (this is {size}); store less"
    return None


def is_storable_ref(ref: str) -> bool:
    """Whether an id or name taken from a path or header could name a stored row at all."""
    return text_problem(ref) is None
