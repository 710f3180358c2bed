"""Ledger URLs: which backend, and how to show one without its password."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit

SCHEMES: Final = ("postgresql://", "postgres://")
ENV_LEDGER_URL: Final = "APIKLEY_LEDGER_URL"
INSTALL: Final = 'pip install "apikley-kling[postgres]"'

_SECRET_PARAMS = re.compile(r"(?i)((?:^|[?&])(?:password|passfile|sslpassword)=)[^&]*")


def is_postgres_url(url: str) -> bool:
    return url.strip().lower().startswith(SCHEMES)


def redact_url(url: str) -> str:
    """`url` with any password (in the user part or a query parameter) shown as ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostinfo}"
    query = _SECRET_PARAMS.sub(r"\1***", parts.query)
    shown = f"{parts.scheme}://{netloc}{parts.path}"
    return shown + (f"?{query}" if query else "")


def secrets_of(url: str) -> list[str]:
    """The password(s) in `url`, as given and decoded: values to scrub from any text that might show them."""
    parts = urlsplit(url)
    found: list[str] = []
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in ("password", "sslpassword")]
    return [s for raw in found for s in {raw, unquote(raw)} if s]
