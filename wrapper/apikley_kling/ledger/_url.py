"""Ledger URLs: which backend, and how to show one without its password.

A password is meant to be percent-encoded, but people paste them as they are
(``postgresql://kling:Zq7/x?Yk@9w@host/db``). A standard URL parser then ends the
user part at the first '/', '?' or '#' and shows the rest as a path or a query. So
the user part is taken here as everything from '://' to the LAST '@': whatever
follows the user name's ':' up to there is the password, however it is written.
When a query holds an '@' this hides more than the password, never less.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl, unquote

SCHEMES: Final = ("postgresql://", "postgres://")
ENV_LEDGER_URL: Final = "APIKLEY_LEDGER_URL"
INSTALL: Final = 'pip install "apikley-kling[postgres]"'

_SECRET_PARAMS = re.compile(r"(?i)((?:^|[?&])(?:password|passfile|sslpassword)=)[^&#]*")
_SECRET_KEYS: Final = ("password", "sslpassword")


def is_postgres_url(url: str) -> bool:
    """Whether `url` names a PostgreSQL ledger (postgresql:// or postgres://)."""
    return url.strip().lower().startswith(SCHEMES)


def _split(url: str) -> tuple[str, str | None, str | None, str]:
    """(scheme with '://' or '', user, password, the rest after the last '@'); user and password None when absent."""
    head, sep, rest = url.partition("://")
    scheme = head + sep if sep else ""
    if not sep:
        rest = url
    userinfo, at, after = rest.rpartition("@")
    if not at:
        return scheme, None, None, rest
    user, colon, password = userinfo.partition(":")
    return scheme, user, password if colon else None, after


def _query_of(rest: str) -> str:
    return rest.partition("?")[2].partition("#")[0]


def redact_url(url: str) -> str:
    """`url` with any password (in the user part, however written, or a query parameter) shown as ***."""
    scheme, user, password, rest = _split(url)
    userinfo = "" if user is None else (f"{user}:***@" if password is not None else f"{user}@")
    return scheme + userinfo + _SECRET_PARAMS.sub(r"\1***", rest)


_BREAKS_LIBPQ = "/?#@"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def unencoded_password(url: str) -> str:
    """What in the URL's password a connection library would misread ('/', '?', '#', '@', a stray '%'), shown
    for people; "" when it is written as a URL needs. (libpq cuts the user part at the first '/' or '@', and
    then echoes pieces of the password in its errors.)"""
    _, _, password, _ = _split(url)
    if not password:
        return ""
    found = [repr(c) for c in _BREAKS_LIBPQ if c in password]
    if _BAD_ESCAPE.search(password):
        found.append("a '%' that is no %XX escape")
    return " and ".join(found)


def secrets_of(url: str) -> list[str]:
    """The password(s) in `url`, as given and decoded: values to scrub from any text that might show them."""
    _, _, password, rest = _split(url)
    found = [password] if password else []
    found += [v for k, v in parse_qsl(_query_of(rest)) if k.lower() in _SECRET_KEYS]
    return [s for raw in found for s in {raw, unquote(raw)} if s]
