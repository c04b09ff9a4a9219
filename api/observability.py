"""Request ids, structured JSON logs, security headers and Prometheus metrics."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

REQUEST_ID = contextvars.ContextVar("request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

REQUESTS = Counter("registry_http_requests_total", "HTTP requests by route and status",
                   ["method", "route", "status"])
LATENCY = Histogram("registry_http_request_seconds", "HTTP request latency by route",
                    ["method", "route"],
                    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5))
EVENTS_APPENDED = Counter("registry_events_appended_total",
                          "Record events stored (batches count each event)", ["kind"])


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
                "logger": record.name, "message": record.getMessage(),
                "request_id": REQUEST_ID.get()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str | None = None) -> None:
    """JSON logs on stderr for the registry's own loggers (idempotent)."""
    logger = logging.getLogger("registry")
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level or os.environ.get("REGISTRY_LOG_LEVEL", "INFO"))
    logger.propagate = False


def install(app: Flask) -> None:
    """Request ids, access log lines, metrics and security headers for every response."""
    access = logging.getLogger("registry.access")

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        g.request_token = REQUEST_ID.set(g.request_id)
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(request.method, route).observe(elapsed)
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path.startswith("/v1/") and "Authorization" in request.headers:
            response.headers.setdefault("Cache-Control", "no-store")
        access.info("request", extra={"fields": {
            "method": request.method, "path": request.path, "status": response.status_code,
            "ms": round(elapsed * 1000, 2)}})
        return response

    @app.teardown_request
    def _reset(_exc) -> None:
        token = g.pop("request_token", None)
        if token is not None:
            REQUEST_ID.reset(token)


class ProjectionLagCollector:
    """Reads the projection lag from the database at scrape time (true for every worker)."""

    def __init__(self, services_getter) -> None:
        self.services_getter = services_getter

    def collect(self):
        svc = self.services_getter()
        head = svc.log.max_position()
        tracking = svc.read_models.tracking()
        lag = GaugeMetricFamily("registry_projection_lag_events",
                                "Log positions not yet applied by the projector")
        lag.add_metric([], max(head - tracking["position"], 0))
        yield lag
        position = GaugeMetricFamily("registry_log_head_position", "Highest stored position")
        position.add_metric([], head)
        yield position


def metrics_response(services_getter) -> Response:
    """Prometheus text format; aggregates gunicorn workers when PROMETHEUS_MULTIPROC_DIR is
    set (`registry serve` sets it)."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry  # noqa: N811
    lag_registry = CollectorRegistry()
    lag_registry.register(ProjectionLagCollector(services_getter))
    body = generate_latest(registry) + generate_latest(lag_registry)
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST})
