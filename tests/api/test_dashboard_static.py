"""The dashboard's files: the page shell on its deep links only, immutable assets under a content
hash, nothing of the API shadowed, nothing fetched from elsewhere. (Static serving does not touch
the database, so these run on SQLite only.)"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.api.web import WEB_DIR, assets_digest
from clusterbook.settings import Settings

PAGES = [
    "/",
    "/clusters/clust_abc",
    "/clusters/support-tickets",
    "/clusters/clust_abc/runs/run_xyz",
    "/clusters/clust_abc/trends?status=failed&from=2026-01-01",
    "/clusters/clust_abc/compare?runs=run_a,run_b",
]


@pytest.fixture(scope="module")
def web(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    path = tmp_path_factory.mktemp("web") / "clusterbook.db"
    shutil.copy(sqlite_template, path)
    with (
        BackgroundServer(Settings(database_url=f"sqlite:///{path}", secret_key="k")) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client


def asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)


@pytest.mark.parametrize("path", PAGES)
def test_every_deep_link_gets_the_page_shell_uncached(web, path):
    response = web.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert '<main id="main"' in response.text
    assert "__ASSETS__" not in response.text


def test_assets_are_served_under_their_content_hash_with_a_long_cache(web):
    html = web.get("/").text
    urls = asset_urls(html)
    digest = assets_digest()
    assert urls and all(url.startswith(f"/assets/{digest}/") for url in urls)
    for url in urls:
        response = web.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    script = web.get(f"/assets/{digest}/js/app.js")
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert web.get(f"/assets/{digest}/css/app.css").headers["content-type"].startswith("text/css")


def test_every_module_import_resolves_to_a_served_file(web):
    digest = assets_digest()
    scripts = sorted(p.relative_to(WEB_DIR).as_posix() for p in WEB_DIR.rglob("*.js") if "vendor" not in p.parts)
    assert "js/app.js" in scripts
    for script in scripts:
        source = (WEB_DIR / script).read_text()
        targets = re.findall(r'^import [^;]*? from "(\.[^"]+)";', source, flags=re.M | re.S)
        assert targets or script.endswith(("dom.js", "format.js", "api.js", "nav.js")), script
        for target in targets:
            url = f"/assets/{digest}/{_norm(f'{Path(script).parent.as_posix()}/{target}')}"
            assert web.get(url).status_code == 200, (script, target, url)


def _norm(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


@pytest.mark.parametrize(
    "path",
    [
        "/assets/0000000000/js/app.js",  # another release's hash
        "/clusters",
        "/clusters/a/b",
        "/clusters/a/runs",
        "/nothing-here",
        "/index.html",
    ],
)
def test_other_paths_are_not_found(web, path):
    assert web.get(path).status_code == 404


def test_assets_cannot_escape_the_web_directory(web):
    digest = assets_digest()
    for path in (
        f"/assets/{digest}/../api/web.py",
        f"/assets/{digest}/%2e%2e/api/web.py",
        f"/assets/{digest}/js/../../api/web.py",
    ):
        response = web.get(path)
        assert response.status_code == 404, path
        assert "mount_dashboard" not in response.text


def test_source_maps_named_by_vendored_builds_are_a_plain_404(web):
    assert web.get(f"/assets/{assets_digest()}/vendor/chart.umd.min.js.map").status_code == 404


def test_the_api_and_its_docs_are_not_shadowed(web):
    assert web.get("/healthz").json()["status"] == "ok"
    assert web.get("/openapi.json").json()["info"]["title"] == "clusterbook"
    assert "swagger" in web.get("/docs").text.lower()
    assert web.post("/v1/clusters/list", json={}).json()["total_count"] == 0
    problem = web.get("/v1/clusters/clust_missing")
    assert problem.status_code == 404
    assert problem.headers["content-type"].startswith("application/problem+json")


def test_dashboard_routes_stay_out_of_the_openapi_schema(web):
    paths = web.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not [p for p in paths if p.startswith("/clusters") or p.startswith("/assets")]
    assert "/v1/clusters/{cluster_id}/executions/trends" in paths
    assert "/v1/clusters/overview" in paths


def test_the_vendored_library_is_pinned_with_its_licence():
    vendor = WEB_DIR / "vendor"
    assert (vendor / "chart.js.LICENSE.md").read_text().startswith("The MIT License")
    header = (vendor / "chart.umd.min.js").read_text()[:200]
    version = re.search(r"Chart\.js v(\d+\.\d+\.\d+)", header)
    assert version, header
    assert f"| {version.group(1)} |" in (vendor / "README.md").read_text()


def test_the_vendored_flow_diagram_plugin_is_pinned_with_its_licence_and_digest():
    vendor = WEB_DIR / "vendor"
    assert (vendor / "chartjs-chart-sankey.LICENSE").read_text().startswith("MIT License")
    build = (vendor / "chartjs-chart-sankey.min.js").read_bytes()
    version = re.search(r"chartjs-chart-sankey v(\d+\.\d+\.\d+)", build[:200].decode())
    assert version, build[:200]
    row = next(
        line for line in (vendor / "README.md").read_text().splitlines() if "chartjs-chart-sankey.min.js`" in line
    )
    assert f"| {version.group(1)} |" in row and hashlib.sha256(build).hexdigest() in row
    # loaded after Chart.js, which it registers itself on
    html = (WEB_DIR / "index.html").read_text()
    assert html.index("vendor/chart.umd.min.js") < html.index("vendor/chartjs-chart-sankey.min.js")


def test_web_files_reference_nothing_outside_the_server():
    pattern = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", re.I)
    for path in WEB_DIR.rglob("*"):
        if path.suffix in {".html", ".css", ".js"} and "vendor" not in path.parts:
            assert not pattern.search(path.read_text()), path
