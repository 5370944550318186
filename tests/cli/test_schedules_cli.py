"""``clusterbook schedules …`` against a live server (real HTTP, through the SDK): create each kind,
list with next fire time, pause, resume, delete, ``--format json`` as the API's JSON, and bad input
as one line on stderr with a non-zero exit."""

from __future__ import annotations

import json

from clusterbook.api.background import BackgroundServer
from tests.cli.test_remote_cli import cli, ok
from tests.factories import make_cluster


def test_schedules_commands_round_trip(live_server: BackgroundServer, session_factory) -> None:
    make_cluster(session_factory, cluster_name="tickets")
    made = json.loads(
        ok(cli(live_server, "schedules", "create", "tickets", "--cron", "0 3 * * *", "--tz", "Europe/Berlin",
               "--execute", '{"run_name": "nightly"}', "--name", "nightly", "--format", "json"))
    )  # fmt: skip
    assert (made["kind"], made["timezone"], made["execute"]) == ("cron", "Europe/Berlin", {"run_name": "nightly"})
    sid = made["schedule_id"]
    shown = ok(cli(live_server, "schedules", "create", "tickets", "--every", "3600", "--paused"))
    assert "every 3600 s" in shown and "paused" in shown
    ok(cli(live_server, "schedules", "create", "tickets", "--new-documents", "500"))

    table = ok(cli(live_server, "schedules", "list", "tickets"))
    assert sid in table and "cron 0 3 * * * (Europe/Berlin)" in table and "500 new documents" in table
    assert "never fired" in table
    listed = json.loads(ok(cli(live_server, "schedules", "list", "tickets", "--format", "json")))
    assert listed["total_count"] == 3 and listed["results"][0]["schedule_id"] == sid

    paused = json.loads(ok(cli(live_server, "schedules", "pause", "tickets", sid, "--format", "json")))
    assert paused["paused"] is True
    resumed = cli(live_server, "schedules", "resume", "tickets", sid)
    assert "active" in ok(resumed) and f"resumed schedule {sid}" in resumed.stderr
    ok(cli(live_server, "schedules", "delete", "tickets", sid))
    assert sid not in ok(cli(live_server, "schedules", "list", "tickets"))


def test_schedules_commands_fail_in_one_line(live_server: BackgroundServer, session_factory) -> None:
    make_cluster(session_factory, cluster_name="tickets")
    for args, fragment in (
        (["--cron", "0 3 * * *", "--every", "60"], "exactly one"),
        ([], "got none"),
        (["--cron", "0 99 * * *"], "not a valid cron expression"),
        (["--cron", "0 3 * * *", "--tz", "Atlantis/Nowhere"], "not an IANA time zone"),
        (["--every", "60", "--execute", "[1]"], "--execute"),
    ):
        result = cli(live_server, "schedules", "create", "tickets", *args)
        assert result.exit_code != 0, args
        assert fragment in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    missing = cli(live_server, "schedules", "pause", "tickets", "sched_nope")
    assert missing.exit_code == 1 and "not found" in missing.stderr
