"""What a database can keep exactly: no NUL characters in text, no NaN or infinite numbers.

PostgreSQL refuses NUL in text and JSON keeps no NaN/Infinity, so such values would either fail
deep in the database (a 500) or come back changed; they are refused up front instead.
"""

from __future__ import annotations

import math
from typing import Any


def unstorable_reason(value: Any, path: str) -> str | None:
    """The first place in a JSON-like value that a database cannot keep faithfully, or ``None``."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return f"{where}: text may not contain NUL characters"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{where}: numbers must be finite (no NaN or Infinity)"
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and "\x00" in key:
                    return f"{where}: keys may not contain NUL characters"
                stack.append((child, f"{where}.{key}"))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


def is_storable_ref(ref: str) -> bool:
    """Whether an id or name taken from a path could name a stored row at all."""
    return "\x00" not in ref
