"""Reading the request: JSON bodies and typed query parameters, with field-named errors."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import current_app, request

from registry.clock import SHANGHAI
from tenants.errors import InvalidInput, RegistryError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class MalformedBody(RegistryError):
    status = 400
    slug = "malformed-body"
    title = "Malformed request body"


class BodyTooLarge(RegistryError):
    status = 413
    slug = "body-too-large"
    title = "Request body too large"


def json_body(max_bytes: int | None = None) -> Any:
    """The request's JSON document; 400 when it is not JSON, 413 when it is too large."""
    limit = max_bytes or current_app.config["REGISTRY_SETTINGS"].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(f"The body is larger than {limit} bytes.", limit=limit)
    raw = request.get_data(cache=False)
    if len(raw) > limit:
        raise BodyTooLarge(f"The body is larger than {limit} bytes.", limit=limit)
    if not raw.strip():
        raise MalformedBody("The request has no body; send a JSON document.")
    charset = _charset()
    try:
        text = raw.decode(charset)
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"The body is not valid {charset.upper()} text (byte {exc.start}); "
                            "send UTF-8 JSON, or declare the charset the body is written in "
                            "(charset=GB18030).") from None
    try:
        document = json.loads(text.removeprefix("\ufeff"), object_pairs_hook=_no_duplicates)
    except DuplicateKey as exc:
        raise MalformedBody(f"The key '{exc.args[0]}' appears twice in one object; send it "
                            "once.", key=exc.args[0]) from None
    except (ValueError, RecursionError) as exc:
        message = "The body is not valid JSON"
        if isinstance(exc, json.JSONDecodeError):
            message += f" (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        elif isinstance(exc, RecursionError):
            message += " (nested too deeply)"
        raise MalformedBody(message + ".") from None
    if _depth(document) > MAX_DEPTH:
        raise MalformedBody(f"The body is nested more than {MAX_DEPTH} levels deep.",
                            max_depth=MAX_DEPTH)
    surrogate = _lone_surrogate(document)
    if surrogate is not None:
        path, char = surrogate
        raise InvalidInput({path: [f"Contains a lone surrogate (U+{ord(char):04X}), which is not "
                                   "a character: send valid Unicode text."]})
    return document


# Charsets a JSON body may declare besides UTF-8 (offices on Chinese Windows); GB18030 is a
# superset of GBK and GB2312, so all three decode with it.
CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gb18030", "gb2312": "gb18030",
            "gb18030": "gb18030", "cp936": "gb18030"}


def _charset() -> str:
    declared = (request.mimetype_params.get("charset") or "utf-8").strip().lower()
    if declared not in CHARSETS:
        raise MalformedBody(f"The charset '{declared[:40]}' is not one the registry reads; send "
                            "UTF-8 (or GB18030/GBK).", supported=sorted(set(CHARSETS)))
    return CHARSETS[declared]


class DuplicateKey(ValueError):
    """A JSON object names a key twice (a later one would silently win)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise DuplicateKey(key)
        document[key] = value
    return document


def _lone_surrogate(value: Any, path: str = "") -> tuple[str, str] | None:
    """(field path, character) of the first lone surrogate in the document's strings."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        return (path or "body", found.group()) if found else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(n), v) for n, v in enumerate(value))
    else:
        return None
    for key, child in items:
        found = _SURROGATE.search(key)
        if found:
            return path or "body", found.group()
        inner = _lone_surrogate(child, f"{path}.{key}" if path else key)
        if inner:
            return inner
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


MAX_DEPTH = 16


def _depth(value: Any, level: int = 1) -> int:
    """How deeply a JSON document nests (stops counting past MAX_DEPTH)."""
    if level > MAX_DEPTH or not isinstance(value, (dict, list)):
        return level
    children = value.values() if isinstance(value, dict) else value
    return max((_depth(child, level + 1) for child in children), default=level)


def date_param(name: str) -> dt.date | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if not _DATE.match(value):
        raise InvalidInput({name: ["Not a valid date (expected YYYY-MM-DD)."]})
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput({name: ["Not a valid date (expected YYYY-MM-DD)."]}) from None


def timestamp_param(name: str, empty_ok: bool = True) -> dt.datetime | None:
    """An ISO 8601 time with an offset (or Z); a bare date means the end of that day in
    Asia/Shanghai. `empty_ok` False: an empty value is refused (it is not 'now')."""
    value = request.args.get(name)
    if value == "" and not empty_ok:
        raise InvalidInput({name: ["May not be empty: give a time or leave the parameter "
                                   "out."]})
    if value is None or value == "":
        return None
    if _DATE.match(value):
        day = date_param(name)
        end = dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tzinfo=SHANGHAI)
        return end.astimezone(dt.timezone.utc)
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise InvalidInput({name: ["Not a valid timestamp (ISO 8601 with an offset, e.g. "
                                   "2026-03-01T00:00:00Z)."]}) from None
    if stamp.tzinfo is None:
        raise InvalidInput({name: ["Give a time zone offset or Z (e.g. 2026-03-01T08:00:00+08:00)."]})
    try:
        utc = stamp.astimezone(dt.timezone.utc)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_TIME <= utc <= LATEST_TIME:
        raise InvalidInput({name: [f"Must be between {EARLIEST_TIME:%Y-%m-%d} and "
                                   f"{LATEST_TIME:%Y-%m-%d} (UTC)."]})
    return utc


EARLIEST_TIME = dt.datetime(1990, 1, 1, tzinfo=dt.timezone.utc)
LATEST_TIME = dt.datetime(2100, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)


def refuse_nul_in_query() -> None:
    """A NUL byte is never part of a filter, a cursor or a name (PostgreSQL cannot even
    compare it): 422 naming the parameter, before any view runs."""
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise InvalidInput({name.replace("\x00", "") or "query": [
                "Contains a NUL byte (U+0000), which no parameter may hold."]})


def text_param(name: str, max_length: int = 200, empty_ok: bool = True) -> str | None:
    """An optional text query parameter of bounded length."""
    value = request.args.get(name)
    if value == "" and not empty_ok:
        raise InvalidInput({name: ["May not be empty: give a value or leave the parameter "
                                   "out."]})
    if value is None or value == "":
        return None
    if len(value) > max_length:
        raise InvalidInput({name: [f"Longer than {max_length} characters."]})
    return value


def int_param(name: str, default: int | None, minimum: int, maximum: int) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    if not re.fullmatch(r"-?\d{1,12}", value):
        raise InvalidInput({name: ["Not a valid integer."]})
    number = int(value)
    if not minimum <= number <= maximum:
        raise InvalidInput({name: [f"Must be between {minimum} and {maximum}."]})
    return number


def record_address(kind: str, key: str) -> tuple[str, str]:
    """The kind and key as the client encoded them (keys may hold '/', sent as %2F)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0]
        parts = path.split("/")
        # ['', 'v1', ('public',) 'records', kind, key (, 'events')]
        start = parts.index("records") + 1 if "records" in parts else None
        if start is not None:
            rest = parts[start:]
            if len(rest) == 2 or (len(rest) == 3 and rest[2] == "events"):
                try:
                    return _decode_segment(rest[0]), _decode_segment(rest[1])
                except UnicodeError:
                    pass
    return kind, key


def _decode_segment(segment: str) -> str:
    """WSGI strings carry bytes as latin-1: percent-decode the bytes, then read UTF-8."""
    return unquote_to_bytes(segment.encode("latin-1")).decode("utf-8")
