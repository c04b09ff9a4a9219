"""Reading the request: JSON bodies and typed query parameters, with field-named errors."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import current_app, request

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
    if too_deep(document):
        raise MalformedBody(f"The body is nested more than {MAX_DEPTH} levels deep.",
                            max_depth=MAX_DEPTH)
    # a lone surrogate can only come from a \uD800-\uDFFF escape: walk only when one is there
    surrogate = _lone_surrogate(document) if _ESCAPED_SURROGATE.search(text) else None
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
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


MAX_DEPTH = 16


def too_deep(document: Any) -> bool:
    """Whether some value of the JSON document sits more than MAX_DEPTH levels deep (the
    document itself is level 1)."""
    if type(document) is not dict and type(document) is not list:
        return False
    return _nests_too_deep(document, 1)


def _nests_too_deep(container: dict | list, level: int) -> bool:
    children = container.values() if type(container) is dict else container
    if level >= MAX_DEPTH:
        return bool(children)  # its children sit at level MAX_DEPTH + 1
    for child in children:
        # only containers are descended into: a scalar child sits at level + 1 <= MAX_DEPTH
        if (type(child) is dict or type(child) is list) and _nests_too_deep(child, level + 1):
            return True
    return False


def refuse_nul_in_query() -> None:
    """A NUL byte is never part of a filter, a cursor or a name (PostgreSQL cannot even
    compare it): 422 naming the parameter, before any view runs."""
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise InvalidInput({name.replace("\x00", "") or "query": [
                "Contains a NUL byte (U+0000), which no parameter may hold."]})


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
