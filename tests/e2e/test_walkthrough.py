"""The README's curl walk-through, run verbatim against a real gunicorn server."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough_script() -> str:
    text = README.read_text("utf-8")
    section = text.split("## Walk-through with curl", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_readme_walkthrough_runs_against_a_real_server(server, tmp_path):
    base, env = server
    env = {**env, "REGISTRY": base}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", walkthrough_script()], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    outputs = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    issued, suspended, now, before, history, public = outputs
    assert issued["version"] == 1 and issued["type"] == "certification.issued"
    assert suspended["version"] == 2 and suspended["position"] > issued["position"]
    assert now["status"] == "suspended"
    assert before["status"] == "valid"
    assert [e["type"] for e in history["events"]] == ["certification.issued",
                                                      "certification.suspended"]
    assert history["events"][1]["actor"]["role"] == "certification-body"
    assert public == {"kind": "certification", "record": "ZJM-2023-000123",
                      "status": "suspended", "holder_name": "安吉竹海家居有限公司",
                      "checked_on": public["checked_on"], "valid_until": "2029-05-09",
                      "valid": False}
