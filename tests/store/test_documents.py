"""Documents in the store, on SQLite and PostgreSQL: upsert (create, replace, all or nothing), exact
float32 vectors, the collection's vector dimension, the metadata filter language (a truth table), and
``load_run_documents`` — the happy path with a pre-filter and every failure a run can meet."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select, update

from clusterbook.errors import ClusteringFailed, InvalidFilter, InvalidSort, ValidationFailed
from clusterbook.models.collections import Collection, DocumentIn
from clusterbook.models.filters import parse_filter_tree
from clusterbook.models.listing import SortSpec
from clusterbook.store.collections import read_collection
from clusterbook.store.documents import (
    delete_documents,
    list_documents,
    load_run_documents,
    read_document,
    upsert_documents,
)
from clusterbook.store.listing import ListQuery, PageRequest
from clusterbook.store.tables import documents
from tests.factories import make_collection, make_documents


def _read(factory, collection: Collection, document_id: str, *, vector: bool = False):
    with factory() as session:
        return read_document(
            session, collection_id=collection.collection_id, document_id=document_id, include_vector=vector
        )


def _collection(factory, collection: Collection) -> Collection:
    with factory() as session:
        found = read_collection(session, namespace_id=collection.namespace_id, collection_ref=collection.collection_id)
    assert found is not None
    return found


def _count(factory, collection: Collection) -> int:
    return _collection(factory, collection).document_count


# ---------------------------------------------------------------- upsert


def test_upsert_creates_then_replaces_whole_documents(session_factory):
    news = make_collection(session_factory, collection_name="news")
    first = make_documents(session_factory, news, [
        {"document_id": "a", "text": "alpha", "metadata": {"lang": "en", "year": 2020}},
        {"document_id": "b", "text": "bravo"},
    ])  # fmt: skip
    assert (first.upserted, first.created, first.updated) == (2, 2, 0)
    assert first.collection.document_count == 2
    before = _read(session_factory, news, "a")
    assert before is not None and before.metadata == {"lang": "en", "year": 2020}
    assert _read(session_factory, news, "b").metadata == {}  # absent metadata reads as {}

    second = make_documents(session_factory, news, [
        {"document_id": "a", "text": "alpha 2", "metadata": {"lang": "fr"}},
        {"document_id": "c", "vector": [1.0, 0.0]},
    ])  # fmt: skip
    assert (second.upserted, second.created, second.updated) == (2, 1, 1)
    assert second.collection.document_count == 3
    assert second.collection.updated_at > first.collection.updated_at
    after = _read(session_factory, news, "a")
    assert after.text == "alpha 2"
    assert after.metadata == {"lang": "fr"}  # replaced, not merged
    assert after.created_at == before.created_at and after.updated_at > before.updated_at
    assert after.vector is None and "vector" not in after.model_fields_set


def test_vectors_round_trip_as_exact_float32(session_factory):
    rng = np.random.default_rng(3)
    values = rng.normal(size=(5, 16)) * 10.0 ** rng.integers(-30, 30, size=(5, 1))
    values[0, :3] = [0.1, -0.0, 1e-45]  # rounding, a signed zero, a float32 subnormal
    news = make_collection(session_factory)
    make_documents(
        session_factory, news, [{"document_id": f"d{i}", "vector": row.tolist()} for i, row in enumerate(values)]
    )
    for i, row in enumerate(values):
        got = _read(session_factory, news, f"d{i}", vector=True)
        expected = row.astype(np.float32)
        assert np.array_equal(np.asarray(got.vector, dtype=np.float32), expected), i
        assert got.vector == [float(x) for x in expected]  # the float64 the API sends is the float32 exactly
    assert _collection(session_factory, news).vector_dimension == 16
    with session_factory() as session:
        loaded = load_run_documents(
            session, namespace_id="ns_default", collection_ids=[news.collection_id], filters=None
        )
    assert loaded.vectors is not None and loaded.vectors.dtype == np.float32
    assert np.array_equal(loaded.vectors, values.astype(np.float32))
    assert np.signbit(loaded.vectors[0, 1])


def test_a_wrong_dimension_writes_nothing_of_the_batch(session_factory):
    news = make_collection(session_factory, collection_name="news")
    make_documents(session_factory, news, [{"document_id": "seed", "vector": [0.5] * 384}])
    batch = [{"document_id": f"n{i}", "text": "t", "vector": [0.1] * 384} for i in range(20)]
    batch[12]["vector"] = [0.1] * 768
    batch[15]["vector"] = [0.1] * 3
    with pytest.raises(ValidationFailed) as caught:
        make_documents(session_factory, news, batch)
    assert caught.value.message.startswith(
        "documents[12].vector has dimension 768 but collection 'news' holds 384-dimensional vectors"
    )
    assert "nothing was written" in caught.value.message
    assert [e.loc for e in caught.value.errors] == ["documents[12].vector", "documents[15].vector"]
    assert _count(session_factory, news) == 1
    assert _read(session_factory, news, "n0") is None


def test_the_first_vector_sets_the_dimension(session_factory):
    empty = make_collection(session_factory, collection_name="fresh")
    mixed = [{"document_id": "a", "vector": [1.0, 2.0, 3.0]}, {"document_id": "b", "text": "no vector"},
             {"document_id": "c", "vector": [1.0, 2.0]}]  # fmt: skip
    with pytest.raises(ValidationFailed) as caught:
        make_documents(session_factory, empty, mixed)
    assert caught.value.errors[0].loc == "documents[2].vector"
    assert "has dimension 2 but documents[0].vector has 3" in caught.value.message
    assert _collection(session_factory, empty).vector_dimension is None
    assert _count(session_factory, empty) == 0
    make_documents(session_factory, empty, [{"document_id": "t", "text": "text only"}])
    assert _collection(session_factory, empty).vector_dimension is None
    make_documents(session_factory, empty, mixed[:2])
    assert _collection(session_factory, empty).vector_dimension == 3


def test_the_dimension_resets_when_the_last_vector_goes(session_factory):
    news = make_collection(session_factory)
    make_documents(
        session_factory, news, [{"document_id": "a", "vector": [1.0, 2.0]}, {"document_id": "b", "text": "x"}]
    )
    with session_factory() as session, session.begin():
        result = delete_documents(session, collection=news, document_ids=["a", "a", "ghost"])
    assert result.deleted == 1 and result.collection.document_count == 1
    assert result.collection.vector_dimension is None
    make_documents(session_factory, news, [{"document_id": "c", "vector": [1.0, 2.0, 3.0, 4.0]}])
    assert _collection(session_factory, news).vector_dimension == 4
    make_documents(session_factory, news, [{"document_id": "c", "text": "now text only"}])
    assert _collection(session_factory, news).vector_dimension is None


def test_repeated_ids_in_one_batch_are_refused(session_factory):
    news = make_collection(session_factory)
    with pytest.raises(ValidationFailed) as caught:
        make_documents(session_factory, news, [{"document_id": "a", "text": "1"}, {"document_id": "b", "text": "2"},
                                               {"document_id": "a", "text": "3"}])  # fmt: skip
    assert caught.value.errors[0].loc == "documents[2].document_id"
    assert "repeats documents[0].document_id 'a'" in caught.value.message
    assert _count(session_factory, news) == 0


def test_documents_belong_to_their_collection(session_factory):
    one = make_collection(session_factory)
    two = make_collection(session_factory)
    make_documents(session_factory, one, [{"document_id": "same", "text": "one"}])
    make_documents(session_factory, two, [{"document_id": "same", "text": "two"}])
    assert _read(session_factory, one, "same").text == "one"
    assert _read(session_factory, two, "same").text == "two"
    with session_factory() as session, session.begin():
        assert delete_documents(session, collection=one, document_ids=["same"]).deleted == 1
    assert _read(session_factory, one, "same") is None and _read(session_factory, two, "same") is not None


def test_ids_compare_bytewise_and_keep_every_character(session_factory):
    news = make_collection(session_factory)
    odd = ["B", "a", "é", "Ä", "a/b?c#d%20", " spaced ", "x" * 256]
    make_documents(session_factory, news, [{"document_id": i, "text": "t"} for i in odd])
    with session_factory() as session:
        page, _ = list_documents(
            session,
            collection_id=news.collection_id,
            query=ListQuery(sort=SortSpec(field="document_id", direction="asc")),
            page=PageRequest(1, 100, 0),
        )
    assert [d.document_id for d in page] == sorted(odd, key=lambda s: s.encode())
    assert _read(session_factory, news, "a/b?c#d%20") is not None


# ---------------------------------------------------------------- the metadata filter language

METADATA: dict[str, dict[str, Any]] = {
    "d1": {"year": 2021, "topic": "Sports", "flag": True, "score": 0.5, "author": {"name": "Ann"}, "date": "2024-03-01",
           "city": "İSTANBUL"},
    "d2": {"year": 2019, "topic": "politics", "flag": False, "score": 1.5, "author": {"name": "bob"},
           "date": "2023-12-31", "city": "Straße"},
    "d3": {"year": "2021", "topic": "sports news", "flag": "true"},  # text where others hold numbers and booleans
    "d4": {"year": None, "topic": None},  # JSON nulls
    "d5": {},
    "d6": {"year": 2021.0, "topic": ["sports"], "flag": 1, "author": "Carl", "tag-x": {"v_1": "deep"},
           "city": ["straße"]},
    "d7": {"year": 10**20, "topic": "Éclair", "score": -3, "city": "ΌΣΟΣ"},
}  # fmt: skip


@pytest.fixture
def tagged(session_factory) -> Collection:
    collection = make_collection(session_factory, collection_name="tagged")
    make_documents(session_factory, collection, [{"document_id": k, "text": f"text of {k}", "metadata": v}
                                                 for k, v in METADATA.items()])  # fmt: skip
    return collection


def _ids(factory, collection: Collection, filters: Any = None, **body: Any) -> list[str]:
    with factory() as session:
        results, _ = list_documents(
            session,
            collection_id=collection.collection_id,
            query=ListQuery(
                filter=parse_filter_tree(filters),
                sort=SortSpec(**body.get("sort", {"field": "document_id", "direction": "asc"})),
                terms=tuple(body.get("terms", ())),
            ),
            page=PageRequest(1, 100, 0),
        )
    return [d.document_id for d in results]


def _c(field: str, op: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"operator": "AND", "conditions": [{"field": field, "operator": op, "value": value, **extra}]}


METADATA_CASES: list[tuple[str, Any, str]] = [
    # numbers compare with numbers only; 2021.0 equals 2021; the text "2021" is another type
    ("number eq", {"metadata.year": 2021}, "16"),
    ("text eq", {"metadata.year": "2021"}, "3"),
    ("number gt", {"metadata.year": {"gt": 2020}}, "167"),
    ("number lte", {"metadata.year": {"lte": 2019}}, "2"),
    ("huge number", {"metadata.year": {"gt": 1e19}}, "7"),
    ("huge integer operand", {"metadata.year": {"lt": 10**30}}, "1267"),
    ("number ne counts other types as not equal", {"metadata.year": {"ne": 2021}}, "23457"),
    ("mixed in", {"metadata.year": {"in": [2019, "2021"]}}, "23"),
    ("nin", {"metadata.year": {"nin": [2019, 2021]}}, "3457"),
    ("negative and fraction", {"metadata.score": {"gte": -3, "lt": 1}}, "17"),
    # null and missing
    ("eq null is missing or null", {"metadata.year": None}, "45"),
    ("ne null", _c("metadata.year", "ne", None), "12367"),
    ("exists", {"metadata.year": {"exists": True}}, "12367"),
    ("exists false", {"metadata.year": {"exists": False}}, "45"),
    ("is_null", {"metadata.topic": {"is_null": True}}, "45"),
    ("missing key", {"metadata.nothing": 1}, ""),
    ("missing key ne", {"metadata.nothing": {"ne": 1}}, "1234567"),
    # strings: case-insensitive with Unicode folding unless case_sensitive; lists and objects never equal text
    ("text eq folds case", {"metadata.topic": "SPORTS"}, "1"),
    ("text eq case-sensitive", _c("metadata.topic", "eq", "sports", case_sensitive=True), ""),
    ("contains", {"metadata.topic": {"contains": "sport"}}, "13"),
    ("contains case-sensitive", _c("metadata.topic", "contains", "sport", case_sensitive=True), "3"),
    ("starts_with unicode", {"metadata.topic": {"starts_with": "éc"}}, "7"),
    ("ends_with", {"metadata.topic": {"ends_with": "NEWS"}}, "3"),
    ("text in", {"metadata.topic": {"in": ["politics", "éclair"]}}, "27"),
    # the one folding rule (clusterbook.folding), read from the folded copy of the metadata
    ("dotted capital I", {"metadata.city": "i\u0307stanbul"}, "1"),
    ("dotted capital I is not plain i", {"metadata.city": {"contains": "istanbul"}}, ""),
    ("sharp s", {"metadata.city": "STRASSE"}, "2"),
    ("sharp s case-sensitive", _c("metadata.city", "eq", "STRASSE", case_sensitive=True), ""),
    ("final sigma", {"metadata.city": {"ends_with": "ς"}}, "7"),
    ("final sigma case-sensitive", _c("metadata.city", "ends_with", "ς", case_sensitive=True), ""),
    ("folded in", {"metadata.city": {"in": ["όσος", "strasse"]}}, "27"),
    ("folded ne", {"metadata.city": {"ne": "strasse"}}, "134567"),
    ("text order is bytewise", {"metadata.date": {"gte": "2024-01-01"}}, "1"),
    ("text lt", {"metadata.date": {"lt": "2024"}}, "2"),
    # booleans are neither 1 nor "true"
    ("true", {"metadata.flag": True}, "1"),
    ("false", {"metadata.flag": False}, "2"),
    ("ne true", {"metadata.flag": {"ne": True}}, "234567"),
    ("bool in", {"metadata.flag": {"in": [True, False]}}, "12"),
    ("number 1 is not true", {"metadata.flag": 1}, "6"),
    # nesting
    ("nested", {"metadata.author.name": "ann"}, "1"),
    ("nested exists (not inside a string)", {"metadata.author.name": {"exists": True}}, "12"),
    ("object is not text", {"metadata.author": {"contains": "a"}}, "6"),
    ("dashes and underscores", {"metadata.tag-x.v_1": "DEEP"}, "6"),
    # logic and other fields together
    ("NOT keeps the other types", {"NOT": [{"metadata.year": {"gt": 2020}}]}, "2345"),
    ("OR", {"OR": [{"metadata.flag": True}, {"metadata.topic": "politics"}]}, "12"),
    ("with document_id", {"document_id": {"in": ["d1", "d2"]}, "metadata.year": 2021}, "1"),
]


def test_metadata_filter_truth_table(session_factory, tagged):
    failures = []
    for name, filters, expected in METADATA_CASES:
        got = "".join(i.removeprefix("d") for i in _ids(session_factory, tagged, filters))
        if got != expected:
            failures.append(f"{name}: got {got!r}, expected {expected!r}")
    assert not failures, "\n".join(failures)


METADATA_ERRORS: list[tuple[str, Any, str, str]] = [
    ("ordering a boolean", {"metadata.flag": {"gt": True}}, "filters.metadata.flag.gt", "only with eq or ne"),
    ("contains a number", {"metadata.topic": {"contains": 5}}, "filters.metadata.topic.contains", "takes text"),
    ("a list operand", {"metadata.topic": {"eq": ["a"]}}, "filters.metadata.topic.eq", "text, numbers or true/false"),
    ("an object in a list", {"metadata.topic": {"in": [{"a": 1}]}}, "filters.metadata.topic.in[0]", "not dict"),
    ("empty in", {"metadata.topic": {"in": []}}, "filters.metadata.topic.in", "non-empty list"),
    ("exists needs a boolean", {"metadata.topic": {"exists": "yes"}}, "filters.metadata.topic.exists", "true or false"),
    ("a space in the key", {"metadata.a b": 1}, "filters.metadata.a b", "letters, digits"),
    ("an empty key", {"metadata.": 1}, "filters.metadata.", "unknown field"),
    ("an empty step", {"metadata.a..b": 1}, "filters.metadata.a..b", "unknown field"),
    ("a quote in the key", {'metadata.a"b': 1}, 'filters.metadata.a"b', "unknown field"),
    ("NUL in text", {"metadata.topic": "a\x00"}, "filters.metadata.topic", "NUL"),
    ("NaN", _c("metadata.score", "gt", float("nan")), "filters.conditions[0].value", "finite"),
    ("another prefix", {"meta.year": 1}, "filters.meta.year", "accepted: created_at, updated_at, document_id, metadata.<key>"),
]  # fmt: skip


def test_metadata_filter_errors_name_the_node(session_factory, tagged):
    failures = []
    for name, filters, loc, fragment in METADATA_ERRORS:
        try:
            _ids(session_factory, tagged, filters)
        except InvalidFilter as exc:
            locs = [e.loc for e in exc.errors]
            if locs != [loc] or fragment not in exc.errors[0].message:
                failures.append(f"{name}: {locs} {exc.errors[0].message!r}; expected {loc} and {fragment!r}")
        else:
            failures.append(f"{name}: no error")
    assert not failures, "\n".join(failures)


def test_document_sort_and_search(session_factory, tagged):
    assert _ids(session_factory, tagged, sort={"field": "document_id", "direction": "desc"})[:2] == ["d7", "d6"]
    assert _ids(session_factory, tagged, terms=["of d3"]) == ["d3"]
    assert _ids(session_factory, tagged, terms=["text", "d5"]) == ["d5"]
    with pytest.raises(InvalidSort) as caught:
        _ids(session_factory, tagged, sort={"field": "metadata.year", "direction": "asc"})
    assert "accepted: created_at, updated_at, document_id" in caught.value.errors[0].message


def test_listing_pages_by_keyset_without_repeats(session_factory):
    news = make_collection(session_factory)
    make_documents(session_factory, news, [{"document_id": f"d{i:03d}", "text": "x"} for i in range(25)])
    seen: list[str] = []
    after = None
    with session_factory() as session:
        while True:
            results, fetched = list_documents(
                session,
                collection_id=news.collection_id,
                query=ListQuery(),
                page=PageRequest(1, 10, 0, after),
            )
            seen.extend(d.document_id for d in results)
            if fetched.next_key is None:
                break
            after = fetched.next_key
    assert fetched.total == 25
    assert seen == [f"d{i:03d}" for i in reversed(range(25))]  # one batch: same created_at, ids break the tie


# ---------------------------------------------------------------- what a run loads


def _load(factory, refs: list[str], filters: Any = None, namespace: str = "ns_default"):
    with factory() as session:
        return load_run_documents(session, namespace_id=namespace, collection_ids=refs, filters=filters)


def test_a_run_loads_documents_in_collection_then_id_order_with_the_prefilter(session_factory):
    news = make_collection(session_factory, collection_name="news")
    blogs = make_collection(session_factory, collection_name="blogs")
    make_documents(session_factory, news, [
        {"document_id": "n2", "text": "two", "metadata": {"lang": "en"}, "vector": [2.0, 0.0]},
        {"document_id": "n1", "text": "one", "metadata": {"lang": "en"}, "vector": [1.0, 0.0]},
        {"document_id": "n3", "text": "three", "metadata": {"lang": "de"}, "vector": [3.0, 0.0]},
    ])  # fmt: skip
    make_documents(session_factory, blogs, [
        {"document_id": "b1", "vector": [0.0, 1.0], "metadata": {"lang": "en", "n": 1}},
    ])  # fmt: skip
    everything = _load(session_factory, ["news", blogs.collection_id])
    assert everything.document_ids == ["n1", "n2", "n3", "b1"]
    assert everything.texts == ["one", "two", "three", None]
    assert everything.metadata[3] == {"lang": "en", "n": 1}
    assert everything.vectors is not None and everything.vectors.shape == (4, 2)
    assert everything.vectors[:, 0].tolist() == [1.0, 2.0, 3.0, 0.0]
    english = _load(session_factory, [blogs.collection_id, "news"], {"metadata.lang": "en"})
    assert english.document_ids == ["b1", "n1", "n2"]
    assert english.vectors is not None and english.vectors.tolist() == [[0.0, 1.0], [1.0, 0.0], [2.0, 0.0]]
    none = _load(session_factory, ["news"], {"metadata.lang": "fr"})
    assert (none.document_ids, none.vectors) == ([], None)
    assert _load(session_factory, ["news", "news"]).document_ids == ["n1", "n2", "n3"]


def test_a_run_without_vectors_gets_texts_and_no_array(session_factory):
    notes = make_collection(session_factory)
    make_documents(session_factory, notes, [{"document_id": f"t{i}", "text": f"note {i}"} for i in range(3)])
    loaded = _load(session_factory, [notes.collection_id])
    assert loaded.vectors is None
    assert loaded.texts == ["note 0", "note 1", "note 2"]
    assert loaded.metadata == [{}, {}, {}]


def test_a_run_streams_many_rows_into_one_array(session_factory):
    big = make_collection(session_factory)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(12_000, 8)).astype(np.float32)  # more rows than one fetch batch
    docs = [DocumentIn(document_id=f"d{i:05d}", vector=row.tolist()) for i, row in enumerate(vectors)]
    with session_factory() as session, session.begin():
        for start in range(0, len(docs), 5000):
            upsert_documents(session, collection=big, docs=docs[start : start + 5000])
    loaded = _load(session_factory, [big.collection_id])
    assert loaded.document_ids[:2] == ["d00000", "d00001"] and len(loaded.document_ids) == 12_000
    assert loaded.vectors is not None and np.array_equal(loaded.vectors, vectors)


def test_a_run_fails_with_cause_and_fix(session_factory):
    small = make_collection(session_factory, collection_name="small")
    large = make_collection(session_factory, collection_name="large")
    partial = make_collection(session_factory, collection_name="partial")
    texts = make_collection(session_factory, collection_name="texts")
    more = make_collection(session_factory, collection_name="more")
    make_documents(session_factory, small, [{"document_id": "s", "vector": [1.0] * 384}])
    make_documents(session_factory, large, [{"document_id": "l", "vector": [1.0] * 768}])
    make_documents(session_factory, partial, [{"document_id": f"p{i}", "vector": [1.0] * 384} for i in range(380)])
    make_documents(session_factory, texts, [{"document_id": f"t{i}", "text": "x"} for i in range(120)])
    make_documents(session_factory, texts, [{"document_id": "s", "text": "an id also in small"}])
    make_documents(session_factory, more, [{"document_id": "t7", "text": "an id also in texts"}])
    cases = [
        (["small", "ghost"], None, "collection 'ghost' no longer exists; remove it from the cluster's collection_ids"),
        (["small", "large"], None, "Vectors of collection 'small' have dimension 384 but collection 'large' has 768; "
                                   "cluster collections of one dimension"),
        (["partial", "texts"], None, "121 of 501 documents have no vector; give every document a vector, or none so "
                                     "the cluster's embedder computes them from text"),
        (["texts", "more"], None, "document 't7' is in both collection 'texts' and collection 'more'; a run needs "
                                  "unique document ids"),
        (["small"], {"lang": "en"}, "the cluster's filters are invalid: filters.lang: unknown field 'lang'"),
    ]  # fmt: skip
    for refs, filters, message in cases:
        with pytest.raises(ClusteringFailed) as caught:
            _load(session_factory, refs, filters)
        assert message in caught.value.message, (refs, caught.value.message)
        assert caught.value.status == 422 and caught.value.code == "clustering_failed"
    with pytest.raises(ClusteringFailed, match="'small' no longer exists"):
        _load(session_factory, ["small"], namespace="ns_other")  # another namespace's collection is no collection
    # the filter that leaves out the text-only documents makes the same pair loadable
    loaded = _load(session_factory, ["partial", "texts"], {"document_id": {"starts_with": "p"}})
    assert loaded.vectors is not None and loaded.vectors.shape == (380, 384)


def test_document_counts_stay_exact(session_factory):
    news = make_collection(session_factory)
    make_documents(session_factory, news, [{"document_id": f"d{i}", "text": "x"} for i in range(30)])
    make_documents(session_factory, news, [{"document_id": f"d{i}", "text": "y"} for i in range(20, 40)])
    assert _count(session_factory, news) == 40
    with session_factory() as session:
        from clusterbook.store.tables import documents

        stored = session.execute(select(func.count()).where(documents.c.collection_id == news.collection_id))
        assert stored.scalar_one() == 40


def test_a_run_can_skip_metadata_and_a_vector_of_another_length_fails_the_load(session_factory):
    news = make_collection(session_factory, collection_name="news")
    make_documents(session_factory, news, [
        {"document_id": f"d{i}", "text": f"t{i}", "metadata": {"i": i}, "vector": [float(i), 1.0]} for i in range(7)
    ])  # fmt: skip
    with session_factory() as session:
        bare = load_run_documents(
            session, namespace_id="ns_default", collection_ids=["news"], filters=None, with_metadata=False
        )
    full = _load(session_factory, ["news"])
    assert bare.document_ids == full.document_ids and bare.texts == full.texts
    assert bare.vectors is not None and full.vectors is not None and np.array_equal(bare.vectors, full.vectors)
    assert bare.metadata == [{}] * 7 and full.metadata[3] == {"i": 3}
    # a row whose stored bytes are not one vector of the collection's dimension (written behind the API)
    with session_factory() as session, session.begin():
        session.execute(
            update(documents).where(documents.c.document_id == "d4").values(vector=np.zeros(3, np.float32).tobytes())
        )
    with pytest.raises(ClusteringFailed, match="document 'd4' changed while the run loaded it"):
        _load(session_factory, ["news"])
