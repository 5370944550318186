"""Rendering schedules for people: the list with next fire time and last firing, and one schedule."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from clusterbook.cli import render
from clusterbook.cli.remote_options import DetailFormat
from clusterbook.models.schedules import Schedule, ScheduleFiring


def trigger_text(schedule: Schedule) -> str:
    if schedule.kind == "cron":
        return f"cron {schedule.cron} ({schedule.timezone})"
    if schedule.kind == "interval":
        return f"every {schedule.interval_seconds} s"
    return f"{schedule.new_documents} new documents"


def firing_text(firing: ScheduleFiring | None) -> str:
    if firing is None:
        return "never fired"
    at = render.when(firing.fired_at)
    if firing.run_id:
        return f"{at}: started {firing.run_id}"
    repeats = f" ×{firing.repeats}" if firing.repeats > 1 else ""
    return f"{at}: skipped ({firing.skipped}){repeats}"


def schedules_table(schedules: Sequence[Schedule]) -> Table:
    table = Table(header_style="bold")
    table.add_column("schedule", no_wrap=True)
    table.add_column("name")
    table.add_column("trigger")
    table.add_column("state")
    table.add_column("next (UTC)", no_wrap=True)
    table.add_column("last firing")
    for s in schedules:
        table.add_row(
            s.schedule_id,
            Text(s.name or ""),
            Text(trigger_text(s)),
            "paused" if s.paused else "active",
            render.when(s.next_fire_at),
            Text(firing_text(s.last_firings[0] if s.last_firings else None)),
        )
    return table


def schedule_details(schedule: Schedule) -> RenderableType:
    table = Table.grid(padding=(0, 2))
    rows = [
        ("schedule", schedule.schedule_id),
        ("cluster", schedule.cluster_id),
        ("name", schedule.name or ""),
        ("trigger", trigger_text(schedule)),
        ("state", "paused" if schedule.paused else "active"),
        ("next (UTC)", render.when(schedule.next_fire_at)),
        ("last firing", firing_text(schedule.last_firings[0] if schedule.last_firings else None)),
    ]
    for key, value in rows:
        table.add_row(Text(key, style="bold"), Text(value))
    return table


def show(schedule: Schedule, output: DetailFormat, message: str) -> None:
    if output == DetailFormat.json:
        render.print_json(schedule.to_dict())
        return
    render.stdout().print(schedule_details(schedule))
    render.note(message)
