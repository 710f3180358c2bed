"""The one loopback rule: which hosts count as this machine.

Plain http (and a served simulator, and a callback delivered without TLS) is
allowed only to this machine. A host counts when it is `localhost` itself or
an IP literal in a loopback range; names under `.localhost` do not: a
resolver may send `evil.localhost` anywhere, and only the exact name is
pinned to loopback by the hosts file on every system we know.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

#: Where `kling simulate` serves by default (127.0.0.1), and the port the README's examples use.
SIMULATOR_PORT = 8765


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host.rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return bool(host) and is_loopback_host(host or "")
