"""The store refuses library settings that would change how it orders or encodes events."""

from __future__ import annotations

import pytest

from events.store import EventLog


@pytest.mark.parametrize("name", ["POSTGRES_ENABLE_DB_FUNCTIONS",
                                  "REGISTRY_POSTGRES_ENABLE_DB_FUNCTIONS"])
def test_the_lock_free_insert_function_cannot_be_switched_on(monkeypatch, tmp_path, name):
    monkeypatch.setenv(name, "y")
    with pytest.raises(RuntimeError, match="POSTGRES_ENABLE_DB_FUNCTIONS"):
        EventLog(f"sqlite:///{tmp_path / 'r.db'}")


@pytest.mark.parametrize("name", ["TRANSCODER_TOPIC", "REGISTRY_TRANSCODER_TOPIC"])
def test_the_transcoder_cannot_be_swapped_from_the_environment(monkeypatch, tmp_path, name):
    """The store reads with its own transcoder (events.transcoder: the library's format,
    parsed by orjson); another one from the environment could read the events otherwise."""
    monkeypatch.setenv(name, "eventsourcing.persistence:JSONTranscoder")
    with pytest.raises(RuntimeError, match="TRANSCODER_TOPIC"):
        EventLog(f"sqlite:///{tmp_path / 'r.db'}")
