"""The one loopback rule: which hosts count as this machine.

Plain http (and a served simulator, and a callback delivered without TLS) is
allowed only to this machine. A host counts when it is `localhost` itself or
an IP literal in a loopback range; names under `.localhost` do not: a
resolver may send `evil.localhost` anywhere, and only the exact name is
pinned to loopback by the hosts file on every system we know.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

#: host, port -> the addresses it resolves to. Tests put a fake here: no test may resolve or reach a real host.
Resolver = Callable[[str, int], list[str]]
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


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives `host`."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


resolve: Resolver = system_resolver


def address_problem(address: str, *, allow_loopback: bool) -> str | None:
    """Why a download may not connect to `address` (an IP), or None for a public one.

    Only globally routable addresses: a result URL comes from the service (or a redirect), and must not
    reach this machine's or its network's services (cloud metadata at 169.254.169.254, a 10.x admin page).
    Loopback is allowed only when the API itself is on loopback (the simulator)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    for bad, why in (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_link_local, "a link-local address (where cloud metadata services answer)"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    ):
        if bad:
            return why
    return None


def host_problem(host: str, port: int, *, allow_loopback: bool) -> str | None:
    """Why a download may not go to `host` (an IP literal, or a name checked on every address it resolves to)."""
    host = host.strip("[]")
    if host.rstrip(".").lower() == "localhost":
        return None if allow_loopback else "a loopback address"
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        addresses = [host]
    except ValueError:
        addresses = resolve(host, port)  # OSError: the caller's (a transient failure, not a refusal)
    if not addresses:
        return "resolves to no address"
    for address in addresses:
        problem = address_problem(address, allow_loopback=allow_loopback)
        if problem is not None:
            return f"resolves to {address}, {problem}" if address != host else f"is {problem}"
    return None
