"""Which ``config.*`` fields a cluster's runs carry (``GET …/executions/config-fields``), for column
choosers and ``group_by`` pickers.

Read from the side table ``execution_params`` (never from the config documents), over the newest
``MAX_SCANNED_RUNS`` runs of the cluster (their ids come from the ``(cluster_id, created_at …)``
index, then a primary-key range of ``execution_params`` per run), so the cost is bounded whatever
the history's size; ``complete`` says when older runs were left unread, or when more than
``MAX_LISTED_FIELDS`` parameter names were found (the most common kept).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from clusterbook.models.config_fields import (
    CONFIG_FIELDS,
    MAX_LISTED_FIELDS,
    MAX_SCANNED_RUNS,
    PARAMS_PREFIX,
    ConfigFieldInfo,
    ExecutionConfigFieldsResponse,
    ValueType,
)
from clusterbook.store.tables import execution_params, executions

_c = executions.c
_p = execution_params.c
_PARAMS = "params."


def list_config_fields(
    session: Session,
    *,
    cluster_id: str,
    max_runs: int = MAX_SCANNED_RUNS,
    max_fields: int = MAX_LISTED_FIELDS,
) -> ExecutionConfigFieldsResponse:
    """The declared ``config.*`` fields and every ``config.params.<name>`` among the newest runs."""
    newest = select(_c.id).where(_c.cluster_id == cluster_id).order_by(_c.created_at.desc(), _c.id.desc())
    seen = session.execute(select(func.count()).select_from(newest.limit(max_runs + 1).subquery())).scalar_one()
    ids = newest.limit(max_runs).subquery()
    is_bool = _p.text.in_(("true", "false"))
    counts = (
        select(_p.name, func.count(), func.count(_p.num), func.sum(case((is_bool, 1), else_=0)))
        .select_from(ids.join(execution_params, _p.execution_id == ids.c.id))
        .group_by(_p.name)
    )
    declared_rows = {row[0]: row for row in session.execute(counts.where(_p.name.in_([f.key for f in CONFIG_FIELDS])))}
    params = session.execute(
        counts.where(_p.name.startswith(_PARAMS, autoescape=True))
        .order_by(func.count().desc(), _p.name)
        .limit(max_fields + 1)
    ).all()
    results = [
        ConfigFieldInfo(
            field=f.field,
            label=f.label,
            declared=True,
            value_type=f.kind,  # type: ignore[arg-type]  # string | integer: the declared kinds
            run_count=int(declared_rows[f.key][1]) if f.key in declared_rows else 0,
        )
        for f in CONFIG_FIELDS
    ]
    for name, n, numbers, booleans in sorted(params[:max_fields], key=lambda row: row[0]):
        key = name.removeprefix(_PARAMS)
        results.append(
            ConfigFieldInfo(
                field=PARAMS_PREFIX + key,
                label=key,
                declared=False,
                value_type=_value_type(int(n), int(numbers), int(booleans or 0)),
                run_count=int(n),
            )
        )
    return ExecutionConfigFieldsResponse(
        results=results, scanned_runs=min(int(seen), max_runs), complete=seen <= max_runs and len(params) <= max_fields
    )


def _value_type(n: int, numbers: int, booleans: int) -> ValueType:
    kinds: dict[ValueType, Any] = {"number": numbers, "boolean": booleans, "string": n - numbers - booleans}
    present = [kind for kind, count in kinds.items() if count]
    return present[0] if len(present) == 1 else "mixed"
