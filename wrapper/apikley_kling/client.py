"""Kling and AsyncKling (their code is in `apikley_kling._client`; this path stays for imports)."""

from ._client.async_ import AsyncKling
from ._client.sync import Kling

__all__ = ["AsyncKling", "Kling"]
