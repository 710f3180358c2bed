"""A client library for accessing Apikley Kling v2.1 Standard"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
