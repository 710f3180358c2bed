from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.download_url_request import DownloadUrlRequest
from ...models.download_url_success import DownloadUrlSuccess
from ...models.error_envelope import ErrorEnvelope
from ...types import Response


def get_kwargs(
    *,
    body: DownloadUrlRequest,
) -> dict[str, Any]:
    """The arguments of httpx's request() for this endpoint (public: the SDK sends them on its own client)."""
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/common/download-url",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DownloadUrlSuccess | ErrorEnvelope | ErrorEnvelope:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> DownloadUrlSuccess | ErrorEnvelope:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = DownloadUrlSuccess.from_dict(data)

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
) -> Response[DownloadUrlSuccess | ErrorEnvelope | ErrorEnvelope]:
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
    body: DownloadUrlRequest,
) -> Response[DownloadUrlSuccess | ErrorEnvelope | ErrorEnvelope]:
    """Get a download URL for a generated file

     Turns the URL of a file the service generated into a temporary download URL, valid for 20 minutes.
    URLs the service did not generate are answered with 422.

    Args:
        body (DownloadUrlRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DownloadUrlSuccess | ErrorEnvelope | ErrorEnvelope]
    """

    kwargs = get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: DownloadUrlRequest,
) -> DownloadUrlSuccess | ErrorEnvelope | ErrorEnvelope | None:
    """Get a download URL for a generated file

     Turns the URL of a file the service generated into a temporary download URL, valid for 20 minutes.
    URLs the service did not generate are answered with 422.

    Args:
        body (DownloadUrlRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DownloadUrlSuccess | ErrorEnvelope | ErrorEnvelope
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: DownloadUrlRequest,
) -> Response[DownloadUrlSuccess | ErrorEnvelope | ErrorEnvelope]:
    """Get a download URL for a generated file

     Turns the URL of a file the service generated into a temporary download URL, valid for 20 minutes.
    URLs the service did not generate are answered with 422.

    Args:
        body (DownloadUrlRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DownloadUrlSuccess | ErrorEnvelope | ErrorEnvelope]
    """

    kwargs = get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: DownloadUrlRequest,
) -> DownloadUrlSuccess | ErrorEnvelope | ErrorEnvelope | None:
    """Get a download URL for a generated file

     Turns the URL of a file the service generated into a temporary download URL, valid for 20 minutes.
    URLs the service did not generate are answered with 422.

    Args:
        body (DownloadUrlRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DownloadUrlSuccess | ErrorEnvelope | ErrorEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
