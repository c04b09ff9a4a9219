"""Every shell block of docs/*.md runs, as written, against a real server loaded with
`registry demo` (with $REGISTRY and an admin's $ADMIN token set)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import BIN

DOCS = Path(__file__).resolve().parents[2] / "docs"
pytestmark = pytest.mark.slow


def blocks(path: Path) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", path.read_text("utf-8"), re.S)


PAGES = sorted(p for p in DOCS.glob("*.md") if blocks(p))


def test_some_docs_have_commands():
    assert PAGES


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_commands_of_a_docs_page_run(page, server, tmp_path):
    base, env = server
    subprocess.run([str(BIN / "registry"), "demo"], env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=300)
    added = subprocess.run([str(BIN / "registry"), "principals", "add", "--name", "docs",
                            "--role", "admin", "--tenant", "330000"], env=env, cwd=tmp_path,
                           check=True, capture_output=True, text=True)
    env = {**env, "REGISTRY": base, "ADMIN": json.loads(added.stdout)["token"]}
    for script in blocks(page):
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env,
                                cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (page.name, result.stdout[-2000:], result.stderr[-2000:])
        assert "Traceback" not in result.stderr
        decoder, text = json.JSONDecoder(), result.stdout
        start = text.find("{")
        answers = 0
        while start != -1:  # curl prints JSON bodies back to back
            body, end = decoder.raw_decode(text, start)
            status = body.get("status")
            assert not isinstance(status, int) or status < 400, body
            answers += 1
            start = text.find("{", end)
        assert answers == script.count("curl "), (page.name, text[-2000:])
