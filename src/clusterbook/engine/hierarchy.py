"""A tree over a run's flat clusters: groups of clusters, groups of groups, up to one root.

Vector runs (``vector_config.hierarchy``): Ward agglomeration over the cluster centres (scipy's
``linkage``: no randomness, so the same centres give the same tree) cut into ``levels`` nested
levels, level ``levels`` being the flat clusters and level l having about ``k ** (l / levels)`` groups.
Attribute runs (``attribute_config.hierarchical_grouping``): one level per attribute, in order
(country → city). Each internal node is labelled like a cluster, by c-TF-IDF (``labeling.py``) over
the union of its member clusters' sampled texts, contrasted with the other nodes of its level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from clusterbook.engine.labeling import ClusterLabel, ClusterTexts, KeywordLabeler

MIN_LEVELS, MAX_LEVELS = 2, 5
ROOT = "root"


@dataclass
class HierarchyNode:
    node_id: str
    parent_id: str | None
    level: int
    num_members: int
    cluster_ids: list[str]
    """The run's flat clusters under this node."""
    label: str = ""
    keywords: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "parent_id": self.parent_id,
            "children": list(self.children),
            "level": self.level,
            "num_members": self.num_members,
            "label": self.label,
            "keywords": list(self.keywords),
            "cluster_ids": list(self.cluster_ids),
        }


def group_counts(k: int, levels: int) -> list[int]:
    """Groups per intermediate level 1..levels-1 (strictly between 1 and k, increasing; fewer levels
    when k is too small to tell them apart)."""
    counts: list[int] = []
    for level in range(1, levels):
        n = int(round(k ** (level / levels)))
        n = max(n, 2, counts[-1] + 1 if counts else 2)
        if n < k:
            counts.append(n)
    return counts


class CentreTree:
    """Ward agglomeration over ``centres`` (k × d), cut into nested levels. After ``fit``:
    ``groups_[i]``, for intermediate level i + 1, gives each cluster's group number there."""

    def __init__(self, levels: int = 2):
        self.levels = levels

    def fit(self, centres: np.ndarray) -> CentreTree:
        if not MIN_LEVELS <= self.levels <= MAX_LEVELS:
            raise ValueError(f"levels must be {MIN_LEVELS} to {MAX_LEVELS}, got {self.levels}")
        k = len(centres)
        self.groups_: list[np.ndarray] = []
        if k < 3:  # one group of two clusters is the root itself
            return self
        tree = linkage(np.asarray(centres, dtype=np.float64), method="ward")
        for n in group_counts(k, self.levels):
            self.groups_.append(fcluster(tree, t=n, criterion="maxclust") - 1)
        return self


def attribute_groups(
    attributes: Sequence[str], keys: Sequence[Sequence[str]]
) -> tuple[list[np.ndarray], list[list[str]]]:
    """Per attribute prefix 1..A-1, each cluster's group among the distinct prefixes (first seen
    first) and each group's name (``country=France``); ``keys``: each cluster's shown values."""
    groups, names = [], []
    for depth in range(1, len(attributes)):
        seen: dict[tuple[str, ...], int] = {}
        groups.append(np.array([seen.setdefault(tuple(key[:depth]), len(seen)) for key in keys]))
        names.append([f"{attributes[depth - 1]}={prefix[-1]}" for prefix in seen])
    return groups, names


def build_tree(
    groups: Sequence[np.ndarray],
    sizes: np.ndarray,
    leaf_labels: Sequence[ClusterLabel],
    texts: Sequence[ClusterTexts],
    names: Sequence[Sequence[str]] | None = None,
) -> list[HierarchyNode]:
    """Nodes root first, then level by level (groups by size, descending), the flat clusters last.

    ``groups``: per intermediate level, each cluster's group (nested: clusters of one group at level
    l share their group at every level above). ``names`` (attribute trees): per level, each group's
    own name, used as its label."""
    k = len(sizes)
    root = HierarchyNode(ROOT, None, 0, int(sizes.sum()), [f"cl_{c}" for c in range(k)])
    nodes = [root]
    parent_of = np.zeros(k, dtype=np.intp)  # index in ``nodes`` of each cluster's node on the level above
    for depth, assignment in enumerate(groups, start=1):
        level_nodes: list[HierarchyNode] = []
        members_by_group = [np.flatnonzero(assignment == g) for g in range(int(assignment.max()) + 1)]
        members_by_group = [m for m in members_by_group if len(m)]
        members_by_group.sort(key=lambda m: (-int(sizes[m].sum()), int(m[0])))
        new_parent = parent_of.copy()
        for n, members in enumerate(members_by_group):
            parent = nodes[int(parent_of[members[0]])]
            node = HierarchyNode(
                f"h{depth}_{n}", parent.node_id, depth, int(sizes[members].sum()), [f"cl_{c}" for c in members]
            )
            if names is not None:
                node.label = names[depth - 1][int(assignment[members[0]])]
            parent.children.append(node.node_id)
            new_parent[members] = len(nodes) + len(level_nodes)
            level_nodes.append(node)
        _label_level(level_nodes, texts, names is None)
        nodes.extend(level_nodes)
        parent_of = new_parent
    for c in range(k):
        parent = nodes[int(parent_of[c])]
        leaf = HierarchyNode(
            f"cl_{c}", parent.node_id, len(groups) + 1, int(sizes[c]), [f"cl_{c}"], leaf_labels[c].label
        )
        leaf.keywords = list(leaf_labels[c].keywords)
        parent.children.append(leaf.node_id)
        nodes.append(leaf)
    _label_level([root], texts, True)
    return nodes


def _label_level(level_nodes: list[HierarchyNode], texts: Sequence[ClusterTexts], name_it: bool) -> None:
    """c-TF-IDF keywords of each node from its clusters' texts, contrasted within the level."""
    by_cluster = {t.cluster_id: t for t in texts}
    empty = ClusterTexts("")
    union = [
        ClusterTexts(
            node.node_id,
            central=[text for c in node.cluster_ids for text in by_cluster.get(c, empty).central[:1]],
            sample=[text for c in node.cluster_ids for text in by_cluster.get(c, empty).sample],
        )
        for node in level_nodes
    ]
    for node, found in zip(level_nodes, KeywordLabeler().label(union), strict=True):
        node.keywords = found.keywords
        if name_it:
            node.label = found.label if found.keywords else f"{len(node.cluster_ids)} clusters"


def tree_record(nodes: Sequence[HierarchyNode], requested: int | None, source: str) -> dict[str, Any]:
    """The stored form: levels asked for and built, how the tree was made, the nodes."""
    return {
        "levels_requested": requested,
        "levels": max(node.level for node in nodes),
        "method": source,
        "nodes": [node.record() for node in nodes],
    }
