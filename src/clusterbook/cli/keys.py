"""``clusterbook keys create|list|revoke``: API keys, managed on the server's database directly (like
``migrate``), since a key is what lets anyone talk to the API at all."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

keys_app = typer.Typer(help="API keys (server side: acts on the database directly).", no_args_is_help=True)
console = Console(stderr=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", envvar="CLUSTERBOOK_DATABASE_URL", help="sqlite:///file.db or postgresql://…"),
]


def _session_factory(database_url: str | None) -> Any:
    from clusterbook.settings import Settings
    from clusterbook.store.db import make_engine, make_sessionmaker, migrate

    settings = Settings(database_url=database_url) if database_url else Settings()
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    migrate(engine)
    return make_sessionmaker(engine, writes=True)


@keys_app.command("create")
def keys_create(
    namespace: Annotated[
        list[str],
        typer.Option(
            "--namespace", help="A namespace (name or id) the key may use; repeat for more. Created if missing."
        ),
    ],
    name: Annotated[str | None, typer.Option("--name", help="A label for people (who or what uses the key).")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create a key bound to namespaces. The key is printed once, on stdout; only its hash is kept."""
    import re

    from clusterbook.models.clusters import NAMESPACE_NAME_PATTERN
    from clusterbook.store.db import transaction
    from clusterbook.store.keys import create_api_key
    from clusterbook.store.namespaces import create_namespace, read_namespace

    if name is not None and not 1 <= len(name) <= 200:
        raise typer.BadParameter("1-200 characters", param_hint="--name")
    created: list[str] = []
    with transaction(_session_factory(database_url)) as session:
        namespace_ids = []
        for ref in namespace:
            found = read_namespace(session, ref)
            if found is None:
                if not re.match(NAMESPACE_NAME_PATTERN, ref):
                    raise typer.BadParameter(
                        f"{ref!r} is no namespace, and not a valid new name (1-63 lowercase letters, digits, "
                        "'-' or '_', starting with a letter or digit)",
                        param_hint="--namespace",
                    )
                found = create_namespace(session, name=ref)
                created.append(ref)
            namespace_ids.append(found.namespace_id)
        key, secret = create_api_key(session, namespace_ids=namespace_ids, name=name)
    typer.echo(secret)
    if created:
        console.print(f"created namespace{'s' if len(created) > 1 else ''} {', '.join(created)}")
    console.print(
        f"API key {key.key_id} for {', '.join(key.namespaces)}: shown once, only its hash is stored. "
        "Send it as Authorization: Bearer <key> (or --api-key / CLUSTERBOOK_API_KEY).",
        soft_wrap=True,
    )


@keys_app.command("list")
def keys_list(
    output: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    database_url: DatabaseOption = None,
) -> None:
    """Every key: id, name, namespaces, created, last used (to the minute), revoked."""
    from rich.table import Table

    from clusterbook.store.db import transaction
    from clusterbook.store.keys import list_api_keys

    if output not in ("table", "json"):
        raise typer.BadParameter("table or json", param_hint="--format")
    with transaction(_session_factory(database_url)) as session:
        keys = list_api_keys(session)

    def when(value: Any) -> str | None:
        return value.replace(microsecond=0).isoformat().replace("+00:00", "Z") if value is not None else None

    rows = [
        {
            "key_id": k.key_id,
            "name": k.name,
            "namespaces": k.namespaces,
            "created_at": when(k.created_at),
            "last_used_at": when(k.last_used_at),
            "revoked_at": when(k.revoked_at),
        }
        for k in keys
    ]
    if output == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("key id", "name", "namespaces", "created", "last used", "revoked")
    for k in keys:
        table.add_row(
            k.key_id,
            k.name or "",
            ", ".join(k.namespaces),
            when(k.created_at),
            when(k.last_used_at) or "never",
            when(k.revoked_at) or "",
        )
    Console(width=200).print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (key_…), as `keys list` shows it.")],
    database_url: DatabaseOption = None,
) -> None:
    """Revoke a key: the next request that sends it gets 401."""
    from clusterbook.errors import NotFound
    from clusterbook.store.db import transaction
    from clusterbook.store.keys import revoke_api_key

    with transaction(_session_factory(database_url)) as session:
        key = revoke_api_key(session, key_id=key_id)
    if key is None:
        raise NotFound(f"no API key {key_id!r}; `clusterbook keys list` shows them")
    console.print(f"revoked {key.key_id}")
