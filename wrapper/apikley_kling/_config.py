"""Defaults, environment names, the API key and the base URL: each written once, here."""

from __future__ import annotations

import os

import httpx

from .errors import ConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "ENV_BASE_URL",
    "ENV_KEY",
    "RedactedToken",
    "Secret",
    "check_base_url",
    "default_timeout",
    "environment_proxies",
    "log_level",
    "resolve_base_url",
    "resolve_key",
]

DEFAULT_BASE_URL = "https://api.apikley.ru"
ENV_KEY = "APIKLEY_API_KEY"
ENV_BASE_URL = "APIKLEY_BASE_URL"
ENV_LOG = "APIKLEY_LOG"  # info | debug: the SDK's log lines on stderr (keys redacted)
DEFAULT_TIMEOUT = 900.0  # seconds a wait lasts: 15 minutes, the upper end of the provider's advice


def default_timeout() -> httpx.Timeout:
    return httpx.Timeout(connect=10.0, read=60.0, write=120.0, pool=30.0)


class Secret:
    """Holds the API key; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class RedactedToken(str):
    """The key as the generated client's `token` field: a real str, but repr() hides it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> str:
    from ._net import is_loopback_host

    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if url.scheme == "http" and not allow_insecure_http and not is_loopback_host(url.host):
        raise ConfigurationError(
            f"refusing plain http to {url.host!r}: the API key would travel in clear text "
            "(use https, a loopback address, or allow_insecure_http=True)"
        )
    return base_url.rstrip("/")


def resolve_base_url(base_url: str | None, *, allow_insecure_http: bool) -> str:
    """base_url, else APIKLEY_BASE_URL, else the service's own; checked."""
    chosen = base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    return check_base_url(chosen, allow_insecure_http=allow_insecure_http)


def environment_proxies() -> dict[str, str | None]:
    """HTTP(S)_PROXY, ALL_PROXY and NO_PROXY, read as httpx reads them: {URL pattern: proxy URL, or None: direct}."""
    from httpx._utils import get_environment_proxies  # how httpx itself reads the environment

    return get_environment_proxies()


def resolve_key(api_key: str | None) -> Secret:
    key = api_key if api_key is not None else os.environ.get(ENV_KEY)
    if not key or not key.strip():
        raise ConfigurationError(f"no API key: pass api_key= or set {ENV_KEY}")
    return Secret(key.strip())


def log_level() -> str | None:
    """APIKLEY_LOG as "info" or "debug" (case and spaces ignored); None when unset, empty or anything else."""
    value = os.environ.get(ENV_LOG, "").strip().lower()
    return value if value in ("info", "debug") else None
