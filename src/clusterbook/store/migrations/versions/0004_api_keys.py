"""API keys (stored hashed) and the namespaces each key is bound to.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clusterbook.store.types import IdentifierType, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("key_id", IdentifierType, nullable=False, unique=True),
        # The unique index on the hash is what each request's key lookup reads.
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_used_at", UTCDateTime),
        sa.Column("revoked_at", UTCDateTime),
    )
    op.create_table(
        "api_key_namespaces",
        sa.Column("key_id", IdentifierType, sa.ForeignKey("api_keys.key_id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "namespace_id",
            IdentifierType,
            sa.ForeignKey("namespaces.namespace_id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )


def downgrade() -> None:
    op.drop_table("api_key_namespaces")
    op.drop_table("api_keys")
