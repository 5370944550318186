"""The SDK stays importable and usable without the server's dependencies (FastAPI, SQLAlchemy,
uvicorn, numpy, scikit-learn …): a fresh interpreter that cannot import them still builds a client."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SERVER_ONLY = [
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "uvicorn",
    "numpy",
    "scipy",
    "sklearn",
    "pyarrow",
    "typer",
]


def test_the_client_imports_without_server_packages() -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from importlib.abc import MetaPathFinder

        BLOCKED = {SERVER_ONLY!r}

        class Block(MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"{{name}} is a server dependency")
                return None

        sys.meta_path.insert(0, Block())
        from clusterbook.client import AsyncClient, Client, F
        client = Client("http://127.0.0.1:9", retries=0)
        print((F.status == "failed").to_dict()["operator"], client.base_url)
        client.close()
        loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(BLOCKED))
        print("loaded:", loaded)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["eq http://127.0.0.1:9", "loaded: []"]
