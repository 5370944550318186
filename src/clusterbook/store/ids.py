"""Public identifiers: a readable prefix and a random alphanumeric body (``run_8Fh2…``)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 20) -> str:
    """A new id such as ``clust_…`` or ``run_…``; 20 random base-62 characters ≈ 119 bits."""
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(length))}"
