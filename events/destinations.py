"""Where webhooks may be delivered (SSRF guard): HTTPS to public addresses only; plain HTTP
to a loopback address only when REGISTRY_WEBHOOKS_ALLOW_HTTP_LOOPBACK is set (tests). The
host is resolved and every address it resolves to is checked, at subscription and again at
each delivery (a name may resolve elsewhere later)."""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

ALLOW_LOOPBACK = "REGISTRY_WEBHOOKS_ALLOW_HTTP_LOOPBACK"


class DestinationRefused(ValueError):
    """The URL may not receive deliveries; the message says why."""


def check_destination(url: str) -> None:
    """Raise DestinationRefused unless `url` may receive webhook deliveries."""
    parts = urlsplit(url)
    loopback_allowed = bool(os.environ.get(ALLOW_LOOPBACK))
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DestinationRefused("Give an absolute https:// URL.")
    if parts.username or parts.password:
        raise DestinationRefused("The URL may not carry credentials.")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme ==
                                                                   "https" else 80))
    except (socket.gaierror, UnicodeError):
        raise DestinationRefused(f"The host {parts.hostname} does not resolve.") from None
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    for address in addresses:
        if address.is_loopback and loopback_allowed:
            continue
        if not address.is_global or address.is_multicast:
            raise DestinationRefused(f"The host {parts.hostname} resolves to {address}, a "
                                     "private, loopback or reserved address.")
    if parts.scheme == "http" and not (loopback_allowed and all(a.is_loopback
                                                                for a in addresses)):
        raise DestinationRefused("Deliveries go over https:// only.")
