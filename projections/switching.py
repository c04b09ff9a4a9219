"""Reads that survive a rebuild's switch of the live generation."""

from __future__ import annotations

import functools

from sqlalchemy.exc import OperationalError, ProgrammingError

from tenants.errors import Unavailable


def retry_after_a_switch(method):
    """Run again once on the new generation when a rebuild dropped the one remembered."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (ProgrammingError, OperationalError) as exc:
            if self.generation or self._live is None or not _missing_table(exc):
                raise
            self._live = None
        try:
            return method(self, *args, **kwargs)
        except (ProgrammingError, OperationalError) as exc:
            if not _missing_table(exc):
                raise
            # The live generation lacks a table or column this version reads: read models
            # built by an older version, which the projector rebuilds when it starts.
            raise Unavailable("The read models are being rebuilt; retry shortly.",
                              retry_after=5) from None

    return wrapper


def _missing_table(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(words in text for words in ("no such table", "no such column",
                                           "does not exist"))
