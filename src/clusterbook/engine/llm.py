"""Optional cluster naming by an OpenAI-compatible chat model (``POST {base_url}/chat/completions``).

An LLM failure never fails a run: the clusters it could not name keep their keyword labels and the cause
is recorded as JSON ``{"error": ..., "clusters": [...]}`` (one entry per distinct cause). A connection
failure, a timeout or a 4xx answer stops further requests — they would fail the same way, and a
timeout per cluster could hold a run for hours.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from clusterbook.engine.config import LLMSettings
from clusterbook.engine.labeling import ClusterLabel, ClusterTexts, truncate

logger = logging.getLogger(__name__)

MAX_LLM_CLUSTERS = 100  # the largest clusters are named by the model; the rest keep keyword labels
TEXT_CHARS = 500
_FIELDS = {"label": '"label": "<at most 6 words>"', "summary": '"summary": "<one sentence>"'}
_FIELDS["keywords"] = '"keywords": ["<up to 8 words>"]'


class _Skip(Exception):
    """This cluster failed; try the next one."""


class _Stop(Exception):
    """Every further request would fail the same way."""


class LLMLabeler:
    """Asks the model for each cluster's label (and summary/keywords when the settings include them).
    After ``label``: ``errors_`` holds the JSON error strings for clusters that kept their keyword labels."""

    def __init__(self, settings: LLMSettings, max_clusters: int = MAX_LLM_CLUSTERS, transport: Any = None):
        self.settings = settings
        self.max_clusters = max_clusters
        self.transport = transport

    def label(self, clusters: Sequence[ClusterTexts], keyword_labels: Sequence[ClusterLabel]) -> list[ClusterLabel]:
        failed: dict[str, list[str]] = {}
        out = list(keyword_labels)
        stop: str | None = None
        headers = {"Authorization": f"Bearer {self.settings.api_key}"} if self.settings.api_key else {}
        with httpx.Client(timeout=self.settings.timeout_s, headers=headers, transport=self.transport) as client:
            for i, (cluster, base) in enumerate(zip(clusters, keyword_labels, strict=True)):
                if not cluster.central:
                    continue  # no text to show the model; "Cluster n" stays
                if i >= self.max_clusters:
                    reason = (
                        f"LLM labeling names the {self.max_clusters} largest clusters; the rest keep keyword labels"
                    )
                    failed.setdefault(reason, []).append(cluster.cluster_id)
                    continue
                if stop is not None:
                    failed[stop].append(cluster.cluster_id)
                    continue
                try:
                    out[i] = self._ask(client, cluster, base)
                except _Stop as exc:
                    stop = str(exc)
                    failed.setdefault(stop, []).append(cluster.cluster_id)
                except _Skip as exc:
                    failed.setdefault(str(exc), []).append(cluster.cluster_id)
        self.errors_ = [json.dumps({"error": error, "clusters": ids}) for error, ids in failed.items()]
        for error in self.errors_:
            logger.warning("LLM labeling failed: %s", error)
        return out

    @property
    def url(self) -> str:
        return self.settings.base_url.rstrip("/") + "/chat/completions"

    def _ask(self, client: httpx.Client, cluster: ClusterTexts, base: ClusterLabel) -> ClusterLabel:
        examples = "\n".join(f"{n}. {truncate(t, TEXT_CHARS)}" for n, t in enumerate(cluster.central, 1))
        prompt = f"Keywords: {', '.join(base.keywords) or '(none)'}\nRepresentative documents:\n{examples}"
        body = {
            "model": self.settings.model,
            "temperature": 0,
            "messages": [{"role": "system", "content": self._instructions()}, {"role": "user", "content": prompt}],
        }
        try:
            response = client.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            raise _Stop(f"no answer from {self.url} within {self.settings.timeout_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise _Stop(f"could not reach {self.url}: {exc or type(exc).__name__}") from exc
        if response.status_code >= 300:
            text = truncate(response.text, 200) or response.reason_phrase
            error = f"{self.url} answered HTTP {response.status_code}: {text}"
            if 400 <= response.status_code < 500 and response.status_code != 429:
                raise _Stop(error)  # wrong URL, key or model: every request would get the same answer
            raise _Skip(error)
        return self._parse(response, base)

    def _instructions(self) -> str:
        wanted = ["label"] + ["summary"] * self.settings.include_summary + ["keywords"] * self.settings.include_keywords
        shape = "{" + ", ".join(_FIELDS[name] for name in wanted) + "}"
        return f"You name clusters of documents. Answer with one JSON object and nothing else: {shape}"

    def _parse(self, response: httpx.Response, base: ClusterLabel) -> ClusterLabel:
        try:
            content = response.json()["choices"][0]["message"]["content"]
            answer = json.loads(content[content.index("{") : content.rindex("}") + 1])
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise _Skip(f"the model's answer is not the JSON object asked for ({type(exc).__name__}: {exc})") from exc
        label = answer.get("label") if isinstance(answer, dict) else None
        if not isinstance(label, str) or not label.strip():
            raise _Skip('the model\'s answer has no "label" string')
        summary, keywords = base.summary, base.keywords
        if self.settings.include_summary and isinstance(answer.get("summary"), str) and answer["summary"].strip():
            summary = truncate(answer["summary"], 500)
        if self.settings.include_keywords and isinstance(answer.get("keywords"), list):
            keywords = [truncate(str(w), 60) for w in answer["keywords"][:10] if str(w).strip()] or keywords
        return ClusterLabel(label=truncate(label, 120), summary=summary, keywords=keywords)
