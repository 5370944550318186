"""Hierarchies: a tree over the flat clusters puts sub-topics under their parent topic, labels each
node from its members' texts, and is the same every time; attribute trees nest by attribute order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from clusterbook.engine import EngineInput, RunConfig, run_pipeline
from clusterbook.engine.hierarchy import CentreTree, group_counts

TOPICS = {
    "sport": ("football", "tennis", "golf"),
    "science": ("physics", "biology", "chemistry"),
}


def nested_corpus(per_sub: int = 30, seed: int = 0) -> tuple[list[str], list[str], np.ndarray, list[tuple[str, str]]]:
    """Two parent topics of three sub-topics each: vectors near parent + sub direction, texts with
    the parent's words and the sub-topic's."""
    rng = np.random.default_rng(seed)
    ids, texts, vectors, truth = [], [], [], []
    dims = 2 + 6
    for p, (parent, subs) in enumerate(TOPICS.items()):
        for s, sub in enumerate(subs):
            direction = np.zeros(dims)
            direction[p] = 10.0
            direction[2 + 3 * p + s] = 4.0
            for i in range(per_sub):
                ids.append(f"{sub}-{i:02d}")
                words = [parent, parent, "team" if p == 0 else "lab", sub, sub, f"{sub}er"]
                texts.append(" ".join(rng.permutation(words).tolist()))
                vectors.append(direction + rng.normal(0, 0.4, dims))
                truth.append((parent, sub))
    return ids, texts, np.array(vectors, dtype=np.float32), truth


def _run(levels: int, seed: int = 0) -> tuple[Any, list[tuple[str, str]]]:
    ids, texts, vectors, truth = nested_corpus(seed=seed)
    config = RunConfig("kmeans", {"n_clusters": 6}, random_state=seed, hierarchy_levels=levels)
    result = run_pipeline(EngineInput(ids, list(texts), [{} for _ in ids], vectors, config))
    return result, truth


def test_sub_topics_sit_under_their_parent_topic_with_its_words() -> None:
    result, truth = _run(levels=2)
    tree = result.hierarchy
    assert tree is not None and tree["levels"] == 2 and tree["levels_requested"] == 2
    nodes = {n["node_id"]: n for n in tree["nodes"]}
    root = nodes["root"]
    assert root["parent_id"] is None and root["num_members"] == len(truth) and len(root["children"]) == 2
    # each flat cluster is one sub-topic
    sub_of = {}
    for c in range(6):
        members = {truth[i] for i in np.flatnonzero(result.labels == c)}
        assert len(members) == 1
        sub_of[f"cl_{c}"] = members.pop()
    for group_id in root["children"]:
        group = nodes[group_id]
        assert group["level"] == 1 and group["parent_id"] == "root"
        parents = {sub_of[c][0] for c in group["children"]}
        assert len(parents) == 1 and len(group["children"]) == 3  # all three sub-topics of one parent
        parent = parents.pop()
        assert group["keywords"][0] == parent and parent in group["label"]
        assert group["num_members"] == sum(nodes[c]["num_members"] for c in group["children"])
        for leaf in group["children"]:
            assert nodes[leaf]["level"] == 2 and nodes[leaf]["children"] == [] and nodes[leaf]["parent_id"] == group_id
            assert nodes[leaf]["label"] == result.centroids[int(leaf[3:])].label


def test_the_tree_is_the_same_every_time_and_its_levels_nest() -> None:
    first, _ = _run(levels=3)
    again, _ = _run(levels=3)
    assert first.hierarchy == again.hierarchy
    nodes = {n["node_id"]: n for n in first.hierarchy["nodes"]}
    assert first.hierarchy["levels"] == 3
    assert [sum(1 for n in nodes.values() if n["level"] == level) for level in range(4)] == [1, 2, 3, 6]
    for node in nodes.values():  # every node's clusters are the union of its children's
        if node["children"]:
            union = sorted(c for child in node["children"] for c in nodes[child]["cluster_ids"])
            assert union == sorted(node["cluster_ids"])


def test_group_counts_grow_geometrically_and_collapse_for_few_clusters() -> None:
    assert group_counts(50, 2) == [7]
    assert group_counts(50, 3) == [4, 14]
    assert group_counts(3, 4) == [2]
    assert group_counts(2, 3) == []
    with pytest.raises(ValueError, match="levels must be 2 to 5"):
        CentreTree(levels=6).fit(np.eye(4))


def test_attribute_grouping_nests_by_the_attributes_in_order() -> None:
    places = [("France", "Paris"), ("France", "Lyon"), ("Japan", "Tokyo"), ("Japan", "Osaka"), ("Japan", "Kyoto")]
    metadata = [{"country": c, "city": t} for c, t in places for _ in range(4)]
    ids = [f"d{i}" for i in range(len(metadata))]
    texts = [f"{m['city'].lower()} travel {m['country'].lower()}" for m in metadata]
    config = RunConfig("attribute_based", {}, attributes=("country", "city"), hierarchical_grouping=True)
    result = run_pipeline(EngineInput(ids, list(texts), metadata, None, config))
    tree = result.hierarchy
    assert tree is not None and tree["method"].endswith("country → city")
    nodes = {n["node_id"]: n for n in tree["nodes"]}
    countries = {nodes[c]["label"]: nodes[c] for c in nodes["root"]["children"]}
    assert set(countries) == {"country=France", "country=Japan"}
    assert countries["country=Japan"]["num_members"] == 12
    for country, node in countries.items():
        cities = [nodes[c]["label"] for c in node["children"]]
        assert all(label.startswith(country.replace("country=", "country=") + ", city=") for label in cities)
    assert len(countries["country=Japan"]["children"]) == 3


def test_no_tree_unless_asked() -> None:
    ids, texts, vectors, _ = nested_corpus(per_sub=5)
    result = run_pipeline(
        EngineInput(ids, list(texts), [{} for _ in ids], vectors, RunConfig("kmeans", {"n_clusters": 6}))
    )
    assert result.hierarchy is None
