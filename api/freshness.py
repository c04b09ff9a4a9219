"""Commands that read projections never answer silently stale (issue 12, finding 7).

Before `registry report` or `registry export` reads, the projections it needs are brought to
the log's head: here, when no projector is running (this process takes the projector's lock
for the moment), else by waiting for the running one. If they cannot get there, the command
stops, naming the lag, instead of printing old numbers.
"""

from __future__ import annotations

import time
from typing import Callable

from api.services import Services
from projections.runner import ProcessLock
from tenants.errors import RegistryError

PAGE = 5000


class StaleProjections(RegistryError):
    """The projections stay behind the log."""

    status = 503
    title = "Projections behind the log"


def caught_up(svc: Services, processors: list, wait_seconds: float = 30.0,
              say: Callable[[str], None] = lambda text: None) -> int:
    """The position every given processor has reached, once it is the log's head."""
    head = svc.log.max_position()
    for processor in processors:
        processor.ensure_tracking()  # follows the live generation after a rebuild
    if _position(processors) >= head:
        return head
    settings = svc.settings
    lock = ProcessLock(settings.database_url, settings.database_schema, "projector")
    if lock.try_acquire():
        try:
            say(f"catching the projections up to position {head} (no projector is running)")
            for processor in processors:
                while _position([processor]) < head and processor.process_page(PAGE):
                    pass
        except Exception as exc:  # a poison event or an outage: say so, never read stale
            raise StaleProjections(f"The projections could not catch up to position {head}: "
                                   f"{type(exc).__name__}: {exc}") from None
        finally:
            lock.release()
    else:
        say(f"waiting up to {wait_seconds:g} s for the running projector to reach {head}")
        deadline = time.monotonic() + wait_seconds
        while _position(processors) < head and time.monotonic() < deadline:
            time.sleep(0.2)
    position = _position(processors)
    if position < head:
        raise StaleProjections(
            f"The projections are at position {position}, {head - position} events behind "
            f"the log (head {head}); nothing was printed. Start `registry projector` (or "
            "check why it stopped: `curl /v1/ready`) and run the command again.")
    return position


def _position(processors: list) -> int:
    return min(processor.position() for processor in processors)
