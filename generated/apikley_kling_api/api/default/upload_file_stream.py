from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.file_stream_upload_request import FileStreamUploadRequest
from ...models.file_upload_result import FileUploadResult
from ...types import Response


def get_kwargs(
    *,
    body: FileStreamUploadRequest,
) -> dict[str, Any]:
    """The arguments of httpx's request() for this endpoint (public: the SDK sends them on its own client)."""
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/file-stream-upload",
    }

    _kwargs["files"] = body.to_multipart()

    # apikley-kling template: httpx picks a random boundary itself; the
    # stock template's fixed "+++" could occur inside binary file content.

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | FileUploadResult:
    if response.status_code == 200:
        response_200 = FileUploadResult.from_dict(response.json())

        return response_200

    if response.status_code == 500:
        response_500 = ErrorEnvelope.from_dict(response.json())

        return response_500

    response_default = ErrorEnvelope.from_dict(response.json())

    return response_default


def build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorEnvelope | FileUploadResult]:
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
    body: FileStreamUploadRequest,
) -> Response[ErrorEnvelope | FileUploadResult]:
    """Upload a file as a multipart stream

     Recommended for local files. The same fileName overwrites.

    Args:
        body (FileStreamUploadRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | FileUploadResult]
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
    body: FileStreamUploadRequest,
) -> ErrorEnvelope | FileUploadResult | None:
    """Upload a file as a multipart stream

     Recommended for local files. The same fileName overwrites.

    Args:
        body (FileStreamUploadRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | FileUploadResult
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: FileStreamUploadRequest,
) -> Response[ErrorEnvelope | FileUploadResult]:
    """Upload a file as a multipart stream

     Recommended for local files. The same fileName overwrites.

    Args:
        body (FileStreamUploadRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | FileUploadResult]
    """

    kwargs = get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: FileStreamUploadRequest,
) -> ErrorEnvelope | FileUploadResult | None:
    """Upload a file as a multipart stream

     Recommended for local files. The same fileName overwrites.

    Args:
        body (FileStreamUploadRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | FileUploadResult
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
