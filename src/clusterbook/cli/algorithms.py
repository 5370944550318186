"""``clusterbook algorithms``: the server's catalogue (``GET /v1/algorithms``) as tables, through the SDK.

One table per algorithm (or only the one named) with each parameter's type, default, accepted values and
meaning, then the preprocessing steps and the presets; ``--format json`` prints the catalogue as served.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clusterbook.cli.remote_options import (
    ApiKeyOption,
    DebugOption,
    DetailFormat,
    DetailFormatOption,
    NamespaceOption,
    Remote,
    UrlOption,
    connected,
    fail,
)

if TYPE_CHECKING:
    from rich.table import Table

    from clusterbook.models.catalogue import ParamInfo


def _default(param: ParamInfo) -> str:
    if not param.has_default:
        return "—"
    return json.dumps(param.default)


def params_table(title: str, params: list[ParamInfo]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("parameter", "type", "default", "accepted", "meaning"):
        table.add_column(column, overflow="fold")
    for p in params:
        table.add_row(p.name, p.type, _default(p), p.accepted, p.meaning)
    return table


def algorithms(
    name: Annotated[str | None, typer.Argument(help="Show only this algorithm, step or preset.")] = None,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """List the algorithms a cluster may use, with their parameters, defaults and bounds (and the
    preprocessing steps and presets)."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        catalogue = client.algorithms.list()
    algos = [a for a in catalogue.algorithms if name in (None, a.name)]
    steps = [s for s in catalogue.preprocessing_steps if name in (None, s.name)]
    presets = [p for p in catalogue.presets if name in (None, p.name)]
    if name is not None and not (algos or steps or presets):
        known = ", ".join([a.name for a in catalogue.algorithms] + [s.name for s in catalogue.preprocessing_steps])
        fail(f"no algorithm, step or preset named {name!r}; the server knows: {known}")
    if output == DetailFormat.json:
        data: dict[str, Any] = catalogue.to_dict()
        if name is not None:
            data = {
                "algorithms": [a.to_dict() for a in algos],
                "preprocessing_steps": [s.to_dict() for s in steps],
                "presets": [p.to_dict() for p in presets],
            }
        render.print_json(data)
        return
    console = render.stdout()
    for a in algos:
        console.print(params_table(f"{a.name} ({a.family}, {a.cluster_type}): {a.description}", a.params))
    for s in steps:
        if s.params:
            console.print(params_table(f"preprocessing step {s.name}: {s.description}", s.params))
        else:
            console.print(f"preprocessing step {s.name}: {s.description} (no parameters)")
    for p in presets:
        params = json.dumps(p.algorithm_params)
        console.print(f"preset {p.name} → {p.algorithm} {params}, preprocessing {json.dumps(p.preprocessing)}")
        console.print(f"  {p.description} Cost: {p.cost}")
