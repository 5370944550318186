"""What every remote command shares: the connection options (``--url``, ``--api-key``,
``--namespace``, ``--debug``), the client they make with its one-line error handling, output formats,
and the parsing of option values (``--since``, ``--param``, ``--filter``)."""

from __future__ import annotations

import enum
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from clusterbook.client import Client, Filter


class Format(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class DetailFormat(enum.StrEnum):
    table = "table"
    json = "json"


class StatsScope(enum.StrEnum):
    page = "page"
    all = "all"


class TrendBucket(enum.StrEnum):
    hour = "hour"
    day = "day"
    week = "week"


# ----------------------------------------------------------------------------- shared options

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", envvar="CLUSTERBOOK_URL", help="Server URL [default: http://127.0.0.1:8000]", show_default=False
    ),
]
ApiKeyOption = Annotated[
    str | None, typer.Option("--api-key", envvar="CLUSTERBOOK_API_KEY", help="API key (sent as a Bearer token).")
]
NamespaceOption = Annotated[
    str | None,
    typer.Option("--namespace", envvar="CLUSTERBOOK_NAMESPACE", help="Namespace name or id [default: default]"),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="On failure, show the traceback; log HTTP retries.")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table (people), json (the API's JSON), csv.")]
DetailFormatOption = Annotated[
    DetailFormat, typer.Option("--format", "-f", help="table (people) or json (the API's JSON).")
]
ClusterOption = Annotated[
    str | None,
    typer.Option("--cluster", "-c", help="The run's cluster (id or name); found from the run id when left out."),
]
PageOption = Annotated[int | None, typer.Option("--page", min=1, help="Page number (1-indexed).")]
PageSizeOption = Annotated[int | None, typer.Option("--page-size", min=1, help="Rows per page (server default 10).")]
AllOption = Annotated[bool, typer.Option("--all", help="Every match: walks all pages by cursor.")]
SearchOption = Annotated[str | None, typer.Option("--search", help="Terms that must all appear (case-insensitive).")]
ParamFilterOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Runs whose algorithm parameter has this value: name=value (repeat), "
                 "e.g. n_clusters=8."),
]  # fmt: skip
GroupByOption = Annotated[
    str | None,
    typer.Option("--group-by", "-g", help="Also split by status, algorithm or a config field, e.g. "
                 "config.params.n_clusters (see the server's GET …/executions/config-fields)."),
]  # fmt: skip


CLI_BACKOFF = 0.25
"""Seconds before the first retry (then doubling, three retries): a person waits under two seconds
to learn that the server is down."""


@dataclass(frozen=True)
class Remote:
    url: str | None
    api_key: str | None
    namespace: str | None
    debug: bool


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit ``code``."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


def usage(option: str, message: str) -> NoReturn:
    fail(f"{option}: {message}", code=2)


def _describe(exc: Any) -> str:
    """The server's message, plus the first bad location when the message does not name it."""
    message = str(exc.message)
    status = exc.extra.get("status")
    if exc.errors and exc.errors[0].loc not in message:
        message += f" (at {exc.errors[0].loc})"
    return f"{message} [{status}]" if isinstance(status, int) else message


@contextmanager
def connected(remote: Remote) -> Iterator[Client]:
    """A client for the command's server; any failure becomes one line on stderr and exit 1."""
    import httpx
    from pydantic import ValidationError

    from clusterbook.client import Client
    from clusterbook.errors import ClusterbookError

    log = logging.getLogger("clusterbook.client")
    handler = logging.StreamHandler(sys.stderr) if remote.debug else None
    level = log.level
    if handler is not None:  # show each retry as it happens
        handler.setFormatter(logging.Formatter("debug: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.DEBUG)
    try:
        with Client(remote.url, api_key=remote.api_key, namespace=remote.namespace, backoff=CLI_BACKOFF) as client:
            yield client
    except ClusterbookError as exc:
        _debug_trace(remote)
        fail(_describe(exc))
    except httpx.InvalidURL as exc:
        _debug_trace(remote)
        fail(f"--url: {exc}", code=2)
    except ValidationError as exc:  # the server answered with something this SDK cannot read
        _debug_trace(remote)
        fail(f"unexpected answer from the server (is it a clusterbook of another version?): {exc.errors()[0]['msg']}")
    finally:
        if handler is not None:
            log.removeHandler(handler)
            log.setLevel(level)


def _debug_trace(remote: Remote) -> None:
    if remote.debug:
        from rich.console import Console

        Console(stderr=True).print_exception()


# ----------------------------------------------------------------------------- argument parsing

AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``2026-01-31``, an ISO timestamp (UTC when it has no zone), or an age: ``30m``, ``12h``, ``7d``, ``2w``."""
    match = AGE.match(text.strip().lower())
    if match:
        delta = timedelta(**{AGE_UNITS[match.group(2)]: float(match.group(1))})
        return (now or datetime.now(UTC)) - delta
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        usage("--since", f"cannot read {text!r}; give a date (2026-01-31), an ISO timestamp, or an age (30m, 12h, 7d)")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_params(items: list[str] | None, option: str = "--param") -> dict[str, Any]:
    """``key=value`` pairs; a value is read as JSON when it parses (``3``, ``true``, ``[1,2]``), else text."""
    params: dict[str, Any] = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            usage(option, f"expected key=value, got {item!r}")
        try:
            params[key.strip()] = json.loads(raw)
        except ValueError:
            params[key.strip()] = raw
    return params


def parse_json_object(text: str | None, option: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        usage(option, f"not valid JSON: {exc}")
    if not isinstance(value, dict):
        usage(option, "must be a JSON object")
    return value


def execution_filter(
    status: list[str] | None,
    since: str | None,
    min_silhouette: float | None,
    raw: str | None,
    params: list[str] | None = None,
) -> Filter | None:
    """The options of ``executions list`` as one filter expression (all of them must hold);
    ``params``: ``name=value`` pairs, each ``config.params.<name>`` equal to the value."""
    from clusterbook.client import F

    parts: list[Any] = []
    for name, value in parse_params(params, "--param").items():
        try:
            parts.append(F.param(name) == value)
        except ValueError as exc:
            usage("--param", str(exc))
    if status:
        parts.append(F.status == status[0] if len(status) == 1 else F.status.in_(status))
    if since is not None:
        parts.append(F.created_at.since(parse_since(since)))
    if min_silhouette is not None:
        parts.append(F.silhouette_score >= min_silhouette)
    raw_filter = parse_json_object(raw, "--filter")
    if raw_filter:
        parts.append(raw_filter)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 and not isinstance(parts[0], dict) else F.all(*parts)


def parse_percentiles(text: str | None) -> list[float] | None:
    """``50,95`` → ``[50.0, 95.0]`` (the server checks the range and the count)."""
    if text is None:
        return None
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        usage("--percentiles", f"expected numbers separated by commas, e.g. 50,95; got {text!r}")


def check_page_or_all(page: int | None, all_pages: bool) -> None:
    if page is not None and all_pages:
        usage("--page", "give --page or --all, not both")
