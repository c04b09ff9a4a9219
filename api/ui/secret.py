"""The session secret of the dashboard: configuration, never hard-coded.

`REGISTRY_SECRET_KEY` wins; otherwise the key is read from a file
(`REGISTRY_SECRET_KEY_FILE`, default `registry-secret.key` in the working directory, beside
the embedded SQLite file), which `registry init` creates with mode 0600 when absent.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Mapping

DEFAULT_FILE = "registry-secret.key"
log = logging.getLogger("registry.ui")


def secret_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("REGISTRY_SECRET_KEY_FILE") or DEFAULT_FILE)


def load_secret(environ: Mapping[str, str] | None = None) -> str | None:
    """The configured secret, or None when there is none yet."""
    env = os.environ if environ is None else environ
    if env.get("REGISTRY_SECRET_KEY"):
        return env["REGISTRY_SECRET_KEY"]
    path = secret_path(env)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except (FileNotFoundError, PermissionError, UnicodeDecodeError):
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s is readable by others; chmod 600 it", path)
    return text or None


def ensure_secret(environ: Mapping[str, str] | None = None) -> tuple[Path | None, bool]:
    """Create the secret file (0600, 256 random bits) unless a secret is configured;
    returns (path or None when the environment holds the key, whether it was created)."""
    env = os.environ if environ is None else environ
    if env.get("REGISTRY_SECRET_KEY"):
        return None, False
    path = secret_path(env)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path, False
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path, True
