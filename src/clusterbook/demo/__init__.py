"""A small, deterministic demo corpus: short documents on clearly distinct topics, generated offline."""

from clusterbook.demo.corpus import DEMO_TOPICS, demo_documents

__all__ = ["DEMO_TOPICS", "demo_documents"]
