"""Per-principal rate limiting: a token bucket per principal in each worker process."""

from __future__ import annotations

import math
import threading
import time

from tenants.errors import RegistryError


class RateLimited(RegistryError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class RateLimiter:
    """`rate` requests per second on average, bursts up to `burst`; 0 disables it."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(burst, 1)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, principal_id: str) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(principal_id, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[principal_id] = (tokens, now)
                wait = math.ceil((1 - tokens) / self.rate)
                raise RateLimited(f"More than {self.rate:g} requests per second; slow down.",
                                  retry_after=max(wait, 1))
            self._buckets[principal_id] = (tokens - 1, now)
