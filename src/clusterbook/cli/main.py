"""The ``clusterbook`` command line: serve the API, seed demo/benchmark data, run migrations.

Server-side commands import the API and store lazily, so the CLI starts fast.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from clusterbook.cli.importing import import_command
from clusterbook.cli.keys import keys_app
from clusterbook.cli.monitors import monitors_app
from clusterbook.cli.remote import register as register_remote
from clusterbook.cli.schedules import register as register_schedules
from clusterbook.cli.webhooks import webhooks_app
from clusterbook.settings import configure_logging

app = typer.Typer(
    help="clusterbook: self-hostable clustering with a fast execution history.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
app.command("import")(import_command)
app.add_typer(keys_app, name="keys")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(monitors_app, name="monitors")
logger = logging.getLogger("clusterbook.serve")

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", envvar="CLUSTERBOOK_DATABASE_URL", help="sqlite:///file.db or postgresql://…"),
]
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", min=0, envvar="CLUSTERBOOK_WORKERS", help="Runs computed at once (0: none)."),
]

RunnerOption = Annotated[
    str | None,
    typer.Option(
        "--runner",
        envvar="CLUSTERBOOK_RUNNER",
        help="Where runs are computed: local (processes on this machine) or ray (needs clusterbook[ray]).",
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        envvar="CLUSTERBOOK_RAY_ADDRESS",
        help="With --runner ray: the cluster to join (auto, ray://host:10001); unset: start a local Ray.",
    ),
]


def _settings(database_url: str | None, **overrides: object):  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from clusterbook.settings import Settings

    values = {k: v for k, v in overrides.items() if v is not None}
    if database_url:
        values["database_url"] = database_url
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        if not any(error["loc"] == ("runner",) for error in exc.errors()):
            raise
        console.print("[red]error:[/] --runner must be local or ray", soft_wrap=True)
        raise SystemExit(2) from None


@contextlib.contextmanager
def _runner_errors() -> Iterator[None]:
    """A runner that cannot start (its extra missing, its cluster unreachable): one line, exit 1."""
    from clusterbook.runner.worker import RunnerUnavailable

    try:
        yield
    except RunnerUnavailable as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise SystemExit(1) from None


def _check_runner(settings: Any) -> None:
    """A runner that is not installed fails before anything starts, in one line naming the extra."""
    from clusterbook.runner.worker import check_runner

    with _runner_errors():
        check_runner(settings)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.", envvar="CLUSTERBOOK_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.", envvar="CLUSTERBOOK_PORT")] = None,
    database_url: DatabaseOption = None,
    demo: Annotated[bool, typer.Option("--demo", help="Seed demo data first when the database has none.")] = False,
    workers: WorkersOption = None,
    runner: RunnerOption = None,
    ray_address: RayAddressOption = None,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            envvar="CLUSTERBOOK_INSECURE",
            help="Serve without any API key even on a non-loopback address (anyone who can reach it has full access).",
        ),
    ] = False,
) -> None:
    """Run the HTTP API and its workers (migrating the database first)."""
    import uvicorn

    from clusterbook.api.app import create_app
    from clusterbook.runner.worker import make_pool
    from clusterbook.store.db import display_url

    settings = _settings(
        database_url,
        host=host,
        port=port,
        workers=workers,
        insecure=insecure or None,
        runner=runner,
        ray_address=ray_address,
    )
    _check_runner(settings)
    configure_logging(settings.log_level)
    api = create_app(settings)
    _check_access(api.state.engine, settings)
    if demo:
        _build_demo(api.state.engine, settings.workers)
    pool = make_pool(api.state.engine, settings)
    api.state.runner = pool
    console.print(
        f"clusterbook on http://{settings.host}:{settings.port}  (database: {display_url(settings.database_url)}; "
        f"{settings.workers} workers, {settings.runner} runner)"
    )
    with _started(pool):
        if demo:  # moves the nightly runs back to their nights as they end (also after a restart midway)
            from clusterbook.runner.demo_history import start_history_thread

            start_history_thread(api.state.engine)
        uvicorn.run(api, host=settings.host, port=settings.port, log_level=settings.log_level)


@contextlib.contextmanager
def _started(pool: Any) -> Iterator[Any]:
    """The pool started (its cluster joined); a runner that cannot start is one line and exit 1."""
    with _runner_errors():
        pool.start()
    try:
        yield pool
    finally:
        pool.stop()


def _check_access(engine: Any, settings: Any) -> None:
    """No API key ever: open on loopback (said loudly), refused elsewhere unless --insecure. Every key
    revoked: closed (said loudly) unless --insecure."""
    from clusterbook.api.auth import is_loopback
    from clusterbook.store.db import make_sessionmaker, transaction
    from clusterbook.store.keys import KeyHistory, read_key_history

    with transaction(make_sessionmaker(engine)) as session:
        history = read_key_history(session)
    if history is KeyHistory.ACTIVE:
        logger.info("API keys are required on every /v1 request")
        return
    create = "create one with `clusterbook keys create --namespace NAME`"
    if settings.insecure:
        logger.warning(
            "NO API KEY and --insecure: the API is open to anyone who can reach %s, with access to every namespace; %s",
            settings.host,
            create,
        )
    elif history is KeyHistory.REVOKED:
        logger.warning(
            "every API key is revoked: the API answers 401 to every /v1 request until a key is created; %s "
            "(or pass --insecure to open it to everyone)",
            create,
        )
    elif is_loopback(settings.host):
        logger.warning(
            "NO API KEY: the API is open to anyone on this machine, with access to every namespace "
            "(listening on %s only); %s",
            settings.host,
            create,
        )
    else:
        console.print(
            f"[red]error:[/] refusing to listen on {settings.host} without an API key: {create}, "
            "listen on 127.0.0.1, or pass --insecure",
            soft_wrap=True,
        )
        raise SystemExit(1)


def _build_demo(engine: Any, workers: int) -> None:
    """Queue the demo's real runs, once: on a database that already has a history, do nothing."""
    from clusterbook.runner.demo import build_demo
    from clusterbook.store.db import make_sessionmaker, transaction
    from clusterbook.store.seed import count_executions

    with transaction(make_sessionmaker(engine, writes=True)) as session:
        existing = count_executions(session)
        if existing:
            console.print(f"database already holds {existing} executions; not adding demo data")
            return
        report = build_demo(session)
    console.print(
        f"[green]demo:[/] {report.documents} documents, {report.clusters} clusters, {report.runs} runs queued"
        + ("; the workers compute them now" if workers else "; start workers (--workers N) to compute them")
    )


@app.command()
def worker(
    database_url: DatabaseOption = None,
    workers: WorkersOption = None,
    runner: RunnerOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Compute runs without serving the API: several machines can share one PostgreSQL this way."""
    import signal
    import threading

    from clusterbook.runner.worker import make_pool
    from clusterbook.store.db import display_url, make_engine
    from clusterbook.store.db import migrate as run_migrations

    settings = _settings(database_url, workers=workers, runner=runner, ray_address=ray_address)
    _check_runner(settings)
    configure_logging(settings.log_level)
    if settings.workers < 1:
        raise typer.BadParameter("a worker process needs at least one worker", param_hint="--workers")
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    run_migrations(engine)
    done = threading.Event()
    console.print(
        f"clusterbook worker: {settings.workers} workers ({settings.runner} runner) on "
        f"{display_url(settings.database_url)}"
    )
    with _started(make_pool(engine, settings)) as pool:
        joined = -1
        while True:
            if pool.joins != joined:  # after every join: joining Ray installs signal handlers of its own
                joined = pool.joins
                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, lambda *_: done.set())
            if done.wait(1.0):
                break
    console.print("workers stopped; runs in flight went back to the queue")


def _namespace_name(value: str) -> str:
    import re

    from clusterbook.models.clusters import NAMESPACE_NAME_PATTERN

    if not re.match(NAMESPACE_NAME_PATTERN, value):
        raise typer.BadParameter("1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit")
    return value


@app.command("seed")
def seed_command(
    executions: Annotated[int, typer.Option("--executions", min=1, help="How many executions to write.")],
    clusters: Annotated[int, typer.Option("--clusters", min=1, help="Spread them over this many clusters.")] = 3,
    namespace: Annotated[
        str, typer.Option("--namespace", help="Namespace (created if missing).", callback=_namespace_name)
    ] = "default",
    days: Annotated[int, typer.Option("--days", min=1, help="Spread created_at over this many days.")] = 180,
    random_seed: Annotated[int, typer.Option("--seed", help="Random seed, for repeatable data.")] = 7,
    database_url: DatabaseOption = None,
) -> None:
    """Write realistic execution records in bulk (demos, benchmarks, load tests)."""
    from rich.progress import Progress

    from clusterbook.runner.config import run_config_for
    from clusterbook.store.db import display_url, make_engine, migrate
    from clusterbook.store.seed import seed

    settings = _settings(database_url)
    engine = make_engine(settings.database_url)
    migrate(engine)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("seeding executions", total=executions)
        report = seed(
            engine,
            executions_count=executions,
            clusters_count=clusters,
            namespace=namespace,
            days=days,
            random_seed=random_seed,
            progress=lambda n: progress.advance(task, n),
            live_config=lambda cluster: run_config_for(cluster, None),  # in-flight runs a worker can run
        )
    rate = report.executions / report.seconds if report.seconds else 0
    console.print(
        f"[green]wrote {report.executions:,} executions[/] over {len(report.cluster_ids)} clusters in namespace "
        f"{report.namespace!r} of {display_url(settings.database_url)} in {report.seconds:.1f} s ({rate:,.0f}/s)"
    )
    for cluster_id in report.cluster_ids:
        typer.echo(cluster_id)


@app.command()
def migrate(database_url: DatabaseOption = None) -> None:
    """Bring the database schema up to date."""
    from clusterbook.store.db import display_url, make_engine
    from clusterbook.store.db import migrate as run_migrations

    url = _settings(database_url).database_url
    run_migrations(make_engine(url))
    console.print(f"[green]database schema is up to date[/] ({display_url(url)})")


rollups_app = typer.Typer(help="The execution-history rollups behind totals, stats, trends and the overview.")
app.add_typer(rollups_app, name="rollups")


@rollups_app.command("rebuild")
def rollups_rebuild(
    cluster: Annotated[str | None, typer.Option("--cluster", help="Only this cluster (its id).")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Recompute the rollups from the stored runs (the triggers keep them exact from then on)."""
    from clusterbook.store.db import display_url, make_engine, make_sessionmaker, migrate
    from clusterbook.store.rollup_schema import rebuild

    url = _settings(database_url).database_url
    engine = make_engine(url)
    migrate(engine)
    try:
        with make_sessionmaker(engine, writes=True)() as session, session.begin():
            rows = rebuild(session, cluster_id=cluster)
    finally:
        engine.dispose()
    console.print(f"[green]rebuilt {rows:,} rollup rows[/] ({display_url(url)})")


register_remote(app)  # clusters, execute, executions: talk to a server over HTTP
register_schedules(app)  # schedules: the same, for a cluster's triggers


def main() -> None:
    """Entry point: expected failures print one line and exit 1, never a traceback."""
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    from clusterbook.errors import ClusterbookError

    try:
        app()
    except ClusterbookError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        raise SystemExit(1) from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        console.print(f"[red]invalid configuration:[/] {problems}")
        raise SystemExit(1) from None
    except SQLAlchemyError as exc:
        console.print(f"[red]database error:[/] {str(exc.orig if hasattr(exc, 'orig') else exc).splitlines()[0]}")
        raise SystemExit(1) from None
