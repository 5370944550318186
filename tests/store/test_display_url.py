"""Database URLs as they are printed and logged: never with their password."""

from __future__ import annotations

import pytest

from clusterbook.errors import InvalidRequest
from clusterbook.store.db import display_url, make_engine


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db.internal:5432/clusters", "postgresql://app:***@db.internal:5432/clusters"),
        (
            "postgresql+psycopg://app:p%40ss%3Aw0rd@db/c?sslmode=require",
            "postgresql+psycopg://app:***@db/c?sslmode=require",
        ),
        ("postgresql://app@db/c?password=s3cret&sslmode=require", "postgresql://app@db/c?password=***&sslmode=require"),
        ("postgresql://app@db/c", "postgresql://app@db/c"),
        ("sqlite:///data/clusterbook.db", "sqlite:///data/clusterbook.db"),
        ("not a url s3cret", "<a database URL that cannot be parsed>"),
        ("postgresql://app:s3cret@db:port/c", "<a database URL that cannot be parsed>"),
    ],
)
def test_display_url_masks_the_password(url: str, shown: str) -> None:
    assert display_url(url) == shown
    assert "s3cret" not in display_url(url) and "w0rd" not in display_url(url)


def test_a_database_url_that_cannot_be_parsed_is_a_clear_error_without_its_password() -> None:
    with pytest.raises(InvalidRequest) as caught:
        make_engine("postgresql://app:s3cret@db:port/c")
    assert "s3cret" not in caught.value.message
    assert (
        "is not valid" in caught.value.message
        and "postgresql://user:password@host:port/database" in caught.value.message
    )
