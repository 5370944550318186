"""The demo corpus is deterministic, varied and shaped as documented."""

from __future__ import annotations

from clusterbook.demo import DEMO_TOPICS, demo_documents


def test_demo_documents_are_deterministic_and_shaped() -> None:
    docs = demo_documents(per_topic=20, seed=3)
    assert docs == demo_documents(per_topic=20, seed=3)
    assert docs != demo_documents(per_topic=20, seed=4)
    assert len(DEMO_TOPICS) >= 6 and len(docs) == 20 * len(DEMO_TOPICS)
    assert len({d["document_id"] for d in docs}) == len(docs)
    assert docs[0]["document_id"] == f"doc-{next(iter(DEMO_TOPICS))}-0"
    for doc in docs:
        meta = doc["metadata"]
        assert set(meta) == {"topic", "source", "year", "words"}
        assert meta["topic"] in DEMO_TOPICS and 2018 <= meta["year"] <= 2025
        assert meta["words"] == len(doc["text"].split()) and doc["text"][0].isupper()


def test_topics_have_distinct_vocabularies_and_a_little_noise() -> None:
    words = [set(v) for v in DEMO_TOPICS.values()]
    assert all(a.isdisjoint(b) for i, a in enumerate(words) for b in words[i + 1 :])
    docs = demo_documents(per_topic=100)
    foreign = 0
    for doc in docs:
        own = set(DEMO_TOPICS[doc["metadata"]["topic"]])
        tokens = {t.strip(".,").lower() for t in doc["text"].split()}
        foreign += any(tokens & set(v) for t, v in DEMO_TOPICS.items() if t != doc["metadata"]["topic"])
        assert len(tokens & own) >= 3
    assert 0.05 < foreign / len(docs) < 0.4
