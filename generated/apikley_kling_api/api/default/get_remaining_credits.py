from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.credits_success import CreditsSuccess
from ...models.error_envelope import ErrorEnvelope
from ...types import Response


def get_kwargs() -> dict[str, Any]:
    """The arguments of httpx's request() for this endpoint (public: the SDK sends them on its own client)."""

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/chat/credit",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreditsSuccess | ErrorEnvelope | ErrorEnvelope:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> CreditsSuccess | ErrorEnvelope:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = CreditsSuccess.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = ErrorEnvelope.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(response.json())

        return response_200

    if response.status_code == 500:
        response_500 = ErrorEnvelope.from_dict(response.json())

        return response_500

    response_default = ErrorEnvelope.from_dict(response.json())

    return response_default


def build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CreditsSuccess | ErrorEnvelope | ErrorEnvelope]:
    """The answer parsed as the spec describes it (public: the SDK parses the answers it received)."""
    # apikley-kling template: the status stays a plain int (HTTPStatus() raises
    # ValueError on 455 or a proxy's 520), and a body that is not what the spec
    # describes (an HTML page, empty, wrong shape) becomes errors.UnexpectedBody
    # instead of a JSONDecodeError/TypeError/KeyError from deep inside a model.
    try:
        parsed = _parse_response(client=client, response=response)
    except errors.UnexpectedStatus:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise errors.UnexpectedBody(response.status_code, response.content, response.headers) from exc
    return Response(
        status_code=response.status_code,
        content=response.content,
        headers=response.headers,
        parsed=parsed,
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[CreditsSuccess | ErrorEnvelope | ErrorEnvelope]:
    """Get remaining credits

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreditsSuccess | ErrorEnvelope | ErrorEnvelope]
    """

    kwargs = get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> CreditsSuccess | ErrorEnvelope | ErrorEnvelope | None:
    """Get remaining credits

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreditsSuccess | ErrorEnvelope | ErrorEnvelope
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[CreditsSuccess | ErrorEnvelope | ErrorEnvelope]:
    """Get remaining credits

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreditsSuccess | ErrorEnvelope | ErrorEnvelope]
    """

    kwargs = get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> CreditsSuccess | ErrorEnvelope | ErrorEnvelope | None:
    """Get remaining credits

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreditsSuccess | ErrorEnvelope | ErrorEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
