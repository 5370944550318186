"""Public identifiers: a readable prefix and a random alphanumeric body (``run_8Fh2…``)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.digits + string.ascii_letters
ID_LENGTH = 20


def encode_base62(number: int, length: int = ID_LENGTH) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def new_id(prefix: str, random_bits: int | None = None) -> str:
    """A new id such as ``clust_…`` or ``run_…``: 20 base-62 characters carrying 119 random bits.

    ``random_bits`` lets the seeder make repeatable ids from its own generator.
    """
    bits = secrets.randbits(119) if random_bits is None else random_bits
    return f"{prefix}_{encode_base62(bits)}"
