"""The session secret is configuration: created once by `registry init`, mode 0600."""

from __future__ import annotations

import stat

from api.ui.secret import ensure_secret, load_secret


def test_init_creates_a_private_secret_once_and_the_environment_wins(tmp_path):
    env = {"REGISTRY_SECRET_KEY_FILE": str(tmp_path / "registry-secret.key")}
    path, created = ensure_secret(env)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    first = load_secret(env)
    assert first and len(first) == 64
    assert ensure_secret(env) == (path, False) and load_secret(env) == first
    assert load_secret({**env, "REGISTRY_SECRET_KEY": "from-env"}) == "from-env"
    assert ensure_secret({"REGISTRY_SECRET_KEY": "from-env"}) == (None, False)
    assert load_secret({"REGISTRY_SECRET_KEY_FILE": str(tmp_path / "absent")}) is None


def test_without_a_secret_the_dashboard_says_how_to_configure_it(app):
    app.secret_key = None
    response = app.test_client().get("/ui/sign-in")
    assert response.status_code == 503 and "registry init" in response.get_data(as_text=True)
