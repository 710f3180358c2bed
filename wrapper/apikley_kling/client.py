"""Kling and AsyncKling (their code is in `apikley_kling._client`; this path stays for imports)."""

from ._client import AsyncKling, Kling

__all__ = ["AsyncKling", "Kling"]
