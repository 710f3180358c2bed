"""What both shells share around an API call: the generated modules, the request's URL, the answer's parse."""

from __future__ import annotations

import functools
import importlib
import threading
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .._engine.effects import Call

__all__ = ["URLS_KEPT", "URLs", "answer", "endpoint", "import_generated_client", "request_url"]

#: Absolute URLs (per base, path and query) a client keeps made.
URLS_KEPT = 1024
URLs = dict[tuple[str, str, tuple[tuple[str, str], ...]], httpx.URL]


_IMPORTING = threading.Lock()


@functools.cache
def _import_generated_client() -> None:
    """Import the generated client's modules now, in the thread that builds the first client.

    They import each other in cycles; imported on first use by several threads at once (a thread pool's first
    calls), they could deadlock in the import system (importlib's _DeadlockError, seen as a failed `kling
    batch`). Loaded here, with the first client, they are only looked up later.
    """
    import pkgutil

    import apikley_kling_api.api.default as default  # type: ignore[import-untyped, unused-ignore]
    import apikley_kling_api.models  # type: ignore[import-untyped, unused-ignore]  # noqa: F401

    for found in pkgutil.iter_modules(default.__path__):
        importlib.import_module(f"{default.__name__}.{found.name}")


def import_generated_client() -> None:
    """_import_generated_client once, whichever threads build clients at the same moment."""
    with _IMPORTING:
        _import_generated_client()


@functools.cache
def endpoint(name: str) -> Any:
    return importlib.import_module(f"apikley_kling_api.api.default.{name}")


def request_url(urls: URLs, base: str, kwargs: dict[str, Any]) -> httpx.URL:
    """The absolute URL of the generated request `kwargs` on `base`, its query in it when every parameter is a
    string (then popped from kwargs, so that httpx takes the URL as it is).

    Made once per path and query and kept in `urls` (a wait asks for the same task each time): httpx otherwise
    parses and re-encodes the URL on every request, the largest CPU cost of a task query after the socket's.
    """
    params = kwargs.get("params")
    query = tuple(params.items()) if params else ()
    if any(type(v) is not str for _, v in query):
        query = ()  # lists, numbers (extra_query): left to httpx as given
    else:
        kwargs.pop("params", None)
    key = (base, kwargs["url"], query)
    url = urls.get(key)
    if url is None:
        if len(urls) >= URLS_KEPT:
            urls.clear()  # many distinct tasks: start over rather than grow
        url = httpx.URL(base + key[1])
        if query:
            url = httpx.URL(url, params=query)
        urls[key] = url
    return url


def answer(call: Call, module: Any, api: Any, response: httpx.Response) -> Any:
    """The generated client's parse of `response`; for a lazy call, an Answer that parses only when asked."""
    if call.lazy:
        from .._engine.effects import Answer

        parse = functools.partial(module.build_response, client=api, response=response)
        return Answer(response.status_code, response.content, response.headers, parse)
    return module.build_response(client=api, response=response)
