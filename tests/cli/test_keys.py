"""``clusterbook keys create|list|revoke`` on the database, and ``serve``'s rule for listening without
a key: open on loopback (with a loud warning), refused elsewhere unless ``--insecure``; closed (and
saying so) once every key is revoked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from clusterbook.api.background import free_port
from clusterbook.store.db import make_engine, make_sessionmaker
from clusterbook.store.keys import hash_key
from clusterbook.store.tables import api_keys

CLI = [sys.executable, "-m", "clusterbook.cli"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("CLUSTERBOOK_")}


def run(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args, "--database-url", db], capture_output=True, text=True, timeout=120, env=ENV)


def test_keys_create_list_revoke(db_url: str):
    created = run("keys", "create", "--namespace", "acme", "--namespace", "default", "--name", "ci", db=db_url)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert created.stdout == key + "\n" and key.startswith("cbk_") and len(key) > 50
    assert "created namespace acme" in created.stderr and "shown once" in created.stderr
    listed = run("keys", "list", "--format", "json", db=db_url)
    [row] = json.loads(listed.stdout)
    assert row["name"] == "ci" and row["namespaces"] == ["acme", "default"]
    assert row["revoked_at"] is None and row["last_used_at"] is None
    assert key.split("_")[1] in row["key_id"]
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        stored = session.execute(api_keys.select()).one()
    engine.dispose()
    assert stored.key_hash == hash_key(key) and key not in str(tuple(stored))
    table = run("keys", "list", db=db_url)
    assert row["key_id"] in table.stdout and "acme, default" in table.stdout and "never" in table.stdout
    revoked = run("keys", "revoke", row["key_id"], db=db_url)
    assert revoked.returncode == 0 and f"revoked {row['key_id']}" in revoked.stderr
    assert json.loads(run("keys", "list", "-f", "json", db=db_url).stdout)[0]["revoked_at"] is not None
    missing = run("keys", "revoke", "key_nothing", db=db_url)
    assert missing.returncode == 1 and "no API key 'key_nothing'" in missing.stderr
    bad = run("keys", "create", "--namespace", "Not Valid!", db=db_url)
    assert bad.returncode != 0 and "--namespace" in bad.stderr and bad.stdout == ""


def _serve(db: str, port: int, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", "0", "--database-url", db, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )


def _wait_healthy(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("server did not become healthy")


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    return out


def test_serve_refuses_a_public_address_without_a_key(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    done = subprocess.run(
        [*CLI, "serve", "--host", "0.0.0.0", "--port", str(free_port()), "--workers", "0", "--database-url", db],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: refusing to listen on 0.0.0.0 without an API key: create one with `clusterbook keys create "
        "--namespace NAME`, listen on 127.0.0.1, or pass --insecure"
    ], done.stderr
    assert "Traceback" not in done.stderr

    port = free_port()  # --insecure: it starts, warning loudly
    proc = _serve(db, port, "--host", "0.0.0.0", "--insecure")
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc)
        assert httpx.post(f"http://127.0.0.1:{port}/v1/clusters/list", json={}).status_code == 200
    finally:
        out = _stop(proc)
    assert "NO API KEY and --insecure" in out

    key = run("keys", "create", "--namespace", "default", db=db).stdout.strip()
    port = free_port()  # with a key: starts on any address, and wants the key
    proc = _serve(db, port, "--host", "0.0.0.0")
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, proc)
        assert httpx.post(f"{base}/v1/clusters/list", json={}).status_code == 401
        ok = httpx.post(f"{base}/v1/clusters/list", json={}, headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200
    finally:
        _stop(proc)


def test_serve_on_loopback_without_a_key_is_open_and_says_so(tmp_path: Path):
    port = free_port()
    proc = _serve(f"sqlite:///{tmp_path / 'open.db'}", port)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc)
        assert httpx.post(f"http://127.0.0.1:{port}/v1/clusters/list", json={}).status_code == 200
    finally:
        out = _stop(proc)
    assert "WARNING" in out and "NO API KEY: the API is open" in out


def test_serve_with_every_key_revoked_stays_closed_and_says_so(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'revoked.db'}"
    created = run("keys", "create", "--namespace", "default", db=db)
    key = created.stdout.strip()
    key_id = json.loads(run("keys", "list", "-f", "json", db=db).stdout)[0]["key_id"]
    assert run("keys", "revoke", key_id, db=db).returncode == 0
    port = free_port()
    proc = _serve(db, port)  # loopback, no --insecure
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, proc)
        assert httpx.post(f"{base}/v1/clusters/list", json={}).status_code == 401
        assert httpx.get(f"{base}/v1/namespaces", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    finally:
        out = _stop(proc)
    assert "every API key is revoked" in out and "NO API KEY: the API is open" not in out
