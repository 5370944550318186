"""The filter language parser: three spellings, one tree; limits; errors that name the node.

Structure and operators only — which fields exist is the store's allow-list (tested in
``tests/store/test_compiler.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from clusterbook.errors import InvalidFilter
from clusterbook.models.filters import (
    CANONICAL_OPERATORS,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_NODES,
    OPERATOR_ALIASES,
    Condition,
    Group,
    Node,
    parse_filter_tree,
)
from clusterbook.models.listing import ListClusterExecutionsRequest


def shape(node: Node | None) -> Any:
    """The meaning of a tree without its paths: groups that only wrap one child, or an AND inside an
    AND (an OR inside an OR), are flattened, since they do not change what the tree matches."""
    if node is None:
        return None
    if isinstance(node, Condition):
        return ("cond", node.field, node.operator, repr(node.value), node.case_sensitive)
    children = [shape(child) for child in node.children]
    if not node.negated and len(children) == 1:
        return children[0]
    flat: list[Any] = []
    for child in children:
        if isinstance(child, tuple) and child[0] == node.op and not node.negated:
            flat.extend(child[1])
        else:
            flat.append(child)
    return ("not" if node.negated else node.op, tuple(flat))


def parse(raw: Any) -> Node | None:
    return parse_filter_tree(raw)


def error_of(raw: Any) -> tuple[str, str]:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter_tree(raw)
    [location] = caught.value.errors
    assert str(caught.value).startswith(location.loc + ": ")
    return location.loc, location.message


# ---------------------------------------------------------------- three spellings, one tree


STATUS = {"field": "status", "operator": "eq", "value": "completed"}
POINTS = {"field": "num_points", "operator": "gt", "value": 100}

EQUIVALENT_SPELLINGS: list[tuple[str, list[Any]]] = [
    (
        "and",
        [
            {"operator": "AND", "conditions": [STATUS, POINTS]},
            {"operator": "and", "conditions": [STATUS, POINTS]},
            {"AND": [STATUS, POINTS]},
            {"AND": [{"field": "status", "operator": "==", "value": "completed"}, {**POINTS, "operator": ">"}]},
            {"status": "completed", "num_points": {"gt": 100}},
            {"status": {"eq": "completed"}, "num_points": {">": 100}},
            {"status": "completed", "AND": [POINTS]},
        ],
    ),
    (
        "or",
        [
            {"operator": "OR", "conditions": [STATUS, POINTS]},
            {"OR": [STATUS, POINTS]},
            {"OR": [{"status": "completed"}, {"num_points": {"gt": 100}}]},
        ],
    ),
    (
        "not",
        [
            {"operator": "NOT", "conditions": [STATUS, POINTS]},
            {"NOT": [STATUS, POINTS]},
            {"NOT": [{"status": "completed"}, {"num_points": {"gt": 100}}]},
        ],
    ),
    (
        "in",
        [
            {"operator": "AND", "conditions": [{"field": "status", "operator": "in", "value": ["failed", "canceled"]}]},
            {"AND": [{"field": "status", "operator": "in", "value": ["failed", "canceled"]}]},
            {"status": ["failed", "canceled"]},
            {"status": {"in": ["failed", "canceled"]}},
            {"field": "status", "operator": "in", "value": ["failed", "canceled"]},
        ],
    ),
    (
        "is_null",
        [
            {"operator": "AND", "conditions": [{"field": "error_message", "operator": "is_null", "value": True}]},
            {"AND": [{"field": "error_message", "operator": "is_null"}]},
            {"error_message": None},
            {"error_message": {"is_null": True}},
        ],
    ),
    (
        "nested",
        [
            {
                "operator": "AND",
                "conditions": [
                    STATUS,
                    {"operator": "OR", "conditions": [POINTS, {"field": "num_clusters", "operator": "lt", "value": 3}]},
                ],
            },
            {"AND": [STATUS], "OR": [POINTS, {"field": "num_clusters", "operator": "<", "value": 3}]},
            {"status": "completed", "OR": [{"num_points": {"gt": 100}}, {"num_clusters": {"lt": 3}}]},
        ],
    ),
    (
        "case sensitive",
        [
            {"operator": "AND", "conditions": [{**STATUS, "case_sensitive": True}]},
            {"operator": "AND", "conditions": [STATUS], "case_sensitive": True},
            {"AND": [STATUS], "case_sensitive": True},
            {"status": "completed", "case_sensitive": True},
        ],
    ),
]


@pytest.mark.parametrize("spellings", [pytest.param(spellings, id=name) for name, spellings in EQUIVALENT_SPELLINGS])
def test_spellings_normalise_to_the_same_tree(spellings: list[Any]) -> None:
    shapes = [shape(parse(raw)) for raw in spellings]
    assert all(s == shapes[0] for s in shapes), shapes


def test_the_normalised_tree() -> None:
    tree = parse({"operator": "AND", "conditions": [STATUS, {"NOT": [POINTS]}]})
    assert isinstance(tree, Group) and tree.op == "and" and not tree.negated and tree.path == "filters"
    status, negation = tree.children
    assert status == Condition("status", "eq", "completed", False, "filters.conditions[0]")
    assert isinstance(negation, Group)
    [not_group] = negation.children
    assert isinstance(not_group, Group) and not_group.op == "or" and not_group.negated
    assert not_group.path == "filters.conditions[1].NOT"
    assert not_group.children == (Condition("num_points", "gt", 100, False, "filters.conditions[1].NOT[0]"),)


def test_no_filter() -> None:
    assert parse(None) is None
    assert parse({}) is None
    assert ListClusterExecutionsRequest().filter_tree() is None


@pytest.mark.parametrize(("spelling", "canonical"), sorted(OPERATOR_ALIASES.items()))
def test_every_operator_spelling(spelling: str, canonical: str) -> None:
    node = parse({"field": "f", "operator": spelling, "value": 1})
    assert isinstance(node, Condition) and node.operator == canonical
    padded = parse({"field": "f", "operator": f" {spelling.upper()} ", "value": 1})
    assert isinstance(padded, Condition) and padded.operator == canonical
    assert canonical in CANONICAL_OPERATORS


def test_operator_defaults_to_eq_and_exists_defaults_to_true() -> None:
    assert parse({"field": "status", "value": "failed"}) == Condition("status", "eq", "failed", False, "filters")
    node = parse({"field": "completed_at", "operator": "exists"})
    assert isinstance(node, Condition) and node.value is True


def test_case_sensitivity_is_inherited_and_overridden() -> None:
    tree = parse(
        {
            "case_sensitive": True,
            "AND": [
                {"field": "a", "value": "x"},
                {"field": "b", "value": "y", "case_sensitive": False},
                {"operator": "OR", "case_sensitive": False, "conditions": [{"field": "c", "value": "z"}]},
            ],
            "d": "w",
        }
    )
    found: dict[str, bool] = {}

    def walk(node: Node) -> None:
        if isinstance(node, Condition):
            found[node.field] = node.case_sensitive
        else:
            for child in node.children:
                walk(child)

    assert tree is not None
    walk(tree)
    assert found == {"a": True, "b": False, "c": False, "d": True}


def test_shorthand_paths_point_at_the_key() -> None:
    tree = parse({"status": "failed", "num_points": {"gt": 1, "lt": 9}})
    assert isinstance(tree, Group)
    paths = [(c.path, c.at("value")) for c in tree.children if isinstance(c, Condition)]
    assert paths == [
        ("filters.status", "filters.status"),
        ("filters.num_points.gt", "filters.num_points.gt"),
        ("filters.num_points.lt", "filters.num_points.lt"),
    ]
    explicit = parse({"OR": [{"field": "x", "operator": "eq", "value": 1}]})
    assert isinstance(explicit, Group)
    [or_group] = explicit.children
    assert isinstance(or_group, Group)
    [cond] = or_group.children
    assert isinstance(cond, Condition) and cond.at("value") == "filters.OR[0].value"


# ---------------------------------------------------------------- limits


def nested(levels: int, keyed: bool = False) -> dict[str, Any]:
    """A tree ``levels`` deep: levels - 1 groups around one condition."""
    node: dict[str, Any] = dict(STATUS)
    for _ in range(levels - 1):
        node = {"AND": [node]} if keyed else {"operator": "AND", "conditions": [node]}
    return node


@pytest.mark.parametrize("keyed", [False, True])
def test_depth_limit(keyed: bool) -> None:
    assert parse(nested(MAX_DEPTH, keyed)) is not None
    loc, message = error_of(nested(MAX_DEPTH + 1, keyed))
    step = "AND[0]" if keyed else "conditions[0]"
    assert loc == "filters." + ".".join([step] * MAX_DEPTH)
    assert f"deeper than {MAX_DEPTH} levels" in message


def test_depth_limit_stops_a_very_deep_tree_early() -> None:
    loc, _ = error_of(nested(5000))
    assert loc.count("conditions[0]") == MAX_DEPTH


def test_condition_limit() -> None:
    many = [{"field": "num_points", "operator": "gt", "value": i} for i in range(MAX_CONDITIONS)]
    assert parse({"operator": "OR", "conditions": many}) is not None
    loc, message = error_of({"operator": "OR", "conditions": [*many, STATUS]})
    assert loc == f"filters.conditions[{MAX_CONDITIONS}]"
    assert f"more than {MAX_CONDITIONS} conditions" in message


def test_condition_limit_counts_across_groups_and_shorthand() -> None:
    half = [{"field": "num_points", "operator": "gt", "value": i} for i in range(MAX_CONDITIONS // 2)]
    assert parse({"AND": half, "OR": half}) is not None
    loc, _ = error_of({"AND": half, "OR": half, "num_clusters": {"gt": 1}})
    assert loc == "filters.num_clusters"
    shorthand_ops = {"num_points": {"gt": 1, "lt": 2}}
    loc, _ = error_of({"AND": half, "OR": half[:-1], **shorthand_ops})
    assert loc == "filters.num_points"


# ---------------------------------------------------------------- errors name the node


ERRORS: list[tuple[str, Any, str, str]] = [
    ("root is a list", [STATUS], "filters", "expected an object"),
    ("root is a string", "status = completed", "filters", "expected an object"),
    ("child not an object", {"operator": "AND", "conditions": [STATUS, 5]}, "filters.conditions[1]", "expected an object"),
    ("keyed child not an object", {"OR": [STATUS, None]}, "filters.OR[1]", "expected an object"),
    ("unknown operator", {"operator": "AND", "conditions": [{**STATUS, "operator": "like"}]},
     "filters.conditions[0].operator", "accepted: ==/eq"),
    ("operator not a string", {"field": "status", "operator": 5, "value": 1}, "filters.operator", "unknown operator"),
    ("shorthand unknown operator", {"num_points": {"greater": 1}}, "filters.num_points.greater", "accepted: ==/eq"),
    ("shorthand empty operator object", {"num_points": {}}, "filters.num_points", "empty operator object"),
    ("unknown condition key", {"operator": "AND", "conditions": [{**STATUS, "negate": True}]},
     "filters.conditions[0].negate", "accepted: field, operator, value, case_sensitive"),
    ("unknown group key", {"operator": "AND", "conditions": [], "limit": 3}, "filters.limit",
     "accepted: operator, conditions, case_sensitive"),
    ("bad group operator", {"operator": "XOR", "conditions": [STATUS]}, "filters.operator", "AND, OR or NOT"),
    ("group operator not a string", {"operator": ["AND"], "conditions": []}, "filters.operator", "AND, OR or NOT"),
    ("conditions not a list", {"operator": "AND", "conditions": STATUS}, "filters.conditions", "must be a list"),
    ("keyed value not a list", {"AND": STATUS}, "filters.AND", "AND must be a list"),
    ("NOT value not a list", {"status": "failed", "NOT": "x"}, "filters.NOT", "NOT must be a list"),
    ("missing value", {"operator": "AND", "conditions": [{"field": "status", "operator": "eq"}]},
     "filters.conditions[0].value", "needs a value"),
    ("empty field", {"field": "", "value": 1}, "filters.field", "non-empty string"),
    ("field not a string", {"field": ["status"], "value": 1}, "filters.field", "non-empty string"),
    ("case_sensitive not a bool", {**STATUS, "case_sensitive": "yes"}, "filters.case_sensitive", "true or false"),
    ("group case_sensitive not a bool", {"AND": [STATUS], "case_sensitive": 1}, "filters.case_sensitive",
     "true or false"),
    ("deep bad node", {"OR": [{"AND": [STATUS, {"operator": "OR", "conditions": [{**POINTS, "operator": "~"}]}]}]},
     "filters.OR[0].AND[1].conditions[0].operator", "unknown operator"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "loc", "fragment"), [pytest.param(raw, loc, frag, id=name) for name, raw, loc, frag in ERRORS]
)
def test_errors_name_the_bad_node(raw: Any, loc: str, fragment: str) -> None:
    found_loc, message = error_of(raw)
    assert found_loc == loc
    assert fragment in message


def test_invalid_filter_is_a_422_with_a_stable_code() -> None:
    with pytest.raises(InvalidFilter) as caught:
        ListClusterExecutionsRequest(filters={"operator": "AND", "conditions": [5]}).filter_tree()
    assert caught.value.status == 422
    assert caught.value.code == "invalid_filter"
    assert caught.value.errors[0].to_dict()["loc"] == "filters.conditions[0]"


def test_node_limit_counts_empty_groups() -> None:
    assert parse({"AND": [{}] * (MAX_NODES - 1)}) is not None  # the root is a node too
    loc, message = error_of({"AND": [{}] * 349_000})
    assert loc == f"filters.AND[{MAX_NODES - 1}]"
    assert f"more than {MAX_NODES} nodes" in message and "empty ones included" in message
    nested_empty = {"operator": "OR", "conditions": [{"operator": "AND", "conditions": []}] * MAX_NODES}
    assert f"more than {MAX_NODES} nodes" in error_of(nested_empty)[1]
