"""Wire models of collections and their documents (text, metadata and an optional vector each)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, Strict, field_validator, model_validator

from clusterbook.models.base import StorableBody, UTCDatetime, WireModel
from clusterbook.models.clusters import NAME_PATTERN
from clusterbook.models.listing import ListRequestBase, PaginationResponse, reject_unknown_keys
from clusterbook.models.storable import metadata_problem, text_problem

MAX_DOCUMENT_ID_LENGTH = 256
MAX_VECTOR_DIMENSION = 4096
MAX_DOCUMENTS_PER_REQUEST = 10_000

FLOAT32_BYTES = 4

VectorComponent = Annotated[float, Strict(), Field(allow_inf_nan=False)]
"""A finite JSON number (an integer is fine; a string or a boolean is not)."""


class _Request(WireModel):
    """Requests refuse unknown keys, naming the accepted ones."""

    model_config = ConfigDict(extra="forbid")
    _what: ClassVar[str] = "request body"

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        return reject_unknown_keys(data, tuple(cls.model_fields), cls._what)


class CollectionCreate(StorableBody, _Request):
    """Body of ``POST /v1/collections``."""

    collection_name: str = Field(pattern=NAME_PATTERN, description="Unique within the namespace.")
    description: str | None = Field(default=None, max_length=2000)

    @field_validator("collection_name")
    @classmethod
    def _not_an_id(cls, value: str) -> str:
        # Collections are addressed by id or name in one path segment; a name shaped like an id could
        # shadow another collection.
        if value.startswith("col_"):
            raise ValueError("collection_name may not start with 'col_' (that prefix is reserved for collection ids)")
        return value


class Collection(WireModel):
    """A named set of documents in a namespace."""

    collection_id: str
    collection_name: str
    namespace_id: str
    description: str | None = None
    vector_dimension: int | None = Field(
        default=None, description="Length of every vector in the collection; null until the first vector arrives."
    )
    document_count: int = 0
    created_at: UTCDatetime
    updated_at: UTCDatetime


class ListCollectionsRequest(ListRequestBase):
    """Body of ``POST /v1/collections/list``."""


class ListCollectionsResponse(WireModel):
    """A page of collections, in the same envelope as the execution listing."""

    results: list[Collection]
    pagination: PaginationResponse
    total_count: int


class DocumentFields(_Request):
    """What every document carries besides its vector: an id, and optional text and metadata.

    The Arrow upload validates these per row and checks the vector column itself."""

    _what: ClassVar[str] = "document"

    document_id: str = Field(min_length=1, max_length=MAX_DOCUMENT_ID_LENGTH, description="Unique in the collection.")
    text: str | None = None
    metadata: dict[str, Any] | None = Field(
        default=None, description="Any JSON object; filter on it with metadata.<key> (dots for nested keys)."
    )

    # Field by field rather than a walk of the whole body: a walk would visit every vector component.
    @field_validator("document_id", "text", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("metadata", mode="before")
    @classmethod
    def _storable_metadata(cls, value: Any) -> Any:
        problem = metadata_problem(value) if isinstance(value, dict) else None
        if problem:
            raise ValueError(problem)
        return value


class DocumentIn(DocumentFields):
    """One document of an upsert: an id, and text or a vector (or both), with optional metadata."""

    vector: list[VectorComponent] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_VECTOR_DIMENSION,
        description="Stored as float32; every vector of a collection has the same length.",
    )
    vector_b64: str | None = Field(
        default=None,
        description="The vector as base64 of little-endian float32 (4 bytes a component), instead of `vector`: "
        "about a third of the bytes of a JSON list of float32 values, and exact.",
    )

    @field_validator("vector_b64")
    @classmethod
    def _float32_base64(cls, value: str | None) -> str | None:
        if value is not None:
            vector_b64_bytes(value)
        return value

    @model_validator(mode="after")
    def _text_or_vector(self) -> DocumentIn:
        if self.vector is not None and self.vector_b64 is not None:
            raise ValueError("give the vector once: either vector (a list of numbers) or vector_b64, not both")
        if self.text is None and self.vector is None and self.vector_b64 is None:
            raise ValueError("a document needs text or a vector (or both)")
        return self


def vector_b64_bytes(value: str) -> bytes:
    """The float32 bytes that ``vector_b64`` carries; ValueError says what is wrong with it."""
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "is not valid base64 (standard alphabet, with padding); encode the vector's little-endian "
            "float32 bytes, e.g. base64.b64encode(numpy.asarray(v, '<f4').tobytes())"
        ) from None
    if not data or len(data) % FLOAT32_BYTES:
        raise ValueError(
            f"decodes to {len(data)} bytes, which is not a whole number of float32 components "
            f"({FLOAT32_BYTES} bytes each, at least one)"
        )
    if len(data) // FLOAT32_BYTES > MAX_VECTOR_DIMENSION:
        raise ValueError(f"has {len(data) // FLOAT32_BYTES} components; at most {MAX_VECTOR_DIMENSION}")
    return data


class DocumentsUpsert(_Request):
    """Body of ``POST /v1/collections/{collection}/documents``: documents created or replaced by id."""

    documents: list[DocumentIn] = Field(min_length=1, max_length=MAX_DOCUMENTS_PER_REQUEST)


class DocumentsUpsertResult(WireModel):
    """What an upsert did: how many documents were new and how many replaced, and the collection after it."""

    upserted: int
    created: int
    updated: int
    collection: Collection


class Document(WireModel):
    """A stored document. ``vector`` is present only when asked for (``include_vectors``)."""

    document_id: str
    text: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    vector: list[float] | None = None
    created_at: UTCDatetime
    updated_at: UTCDatetime


class ListDocumentsRequest(ListRequestBase):
    """Body of ``POST /v1/collections/{collection}/documents/list``.

    Filters take ``document_id``, ``created_at``, ``updated_at`` and ``metadata.<key>``; sort takes
    ``created_at`` (default, newest first), ``updated_at`` or ``document_id``; search matches the text.
    """

    include_vectors: bool = Field(default=False, description="Return each document's vector too.")


class ListDocumentsResponse(WireModel):
    """A page of documents, in the same envelope as the execution listing."""

    results: list[Document]
    pagination: PaginationResponse
    total_count: int


class DocumentsDelete(StorableBody, _Request):
    """Body of ``POST /v1/collections/{collection}/documents/delete``."""

    document_ids: list[Annotated[str, Field(min_length=1, max_length=MAX_DOCUMENT_ID_LENGTH)]] = Field(
        min_length=1, max_length=MAX_DOCUMENTS_PER_REQUEST
    )


class DocumentsDeleteResult(WireModel):
    """How many of the named documents existed and are now gone, and the collection after it."""

    deleted: int
    collection: Collection
