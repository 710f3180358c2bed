from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.task_record_success import TaskRecordSuccess
from ...types import UNSET, Response


def get_kwargs(
    *,
    task_id: str,
) -> dict[str, Any]:
    """The arguments of httpx's request() for this endpoint (public: the SDK sends them on its own client)."""

    params: dict[str, Any] = {}

    params["taskId"] = task_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/jobs/recordInfo",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | ErrorEnvelope | TaskRecordSuccess:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> ErrorEnvelope | TaskRecordSuccess:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = TaskRecordSuccess.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = ErrorEnvelope.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorEnvelope.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = ErrorEnvelope.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorEnvelope.from_dict(response.json())

        return response_500

    response_default = ErrorEnvelope.from_dict(response.json())

    return response_default


def build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorEnvelope | ErrorEnvelope | TaskRecordSuccess]:
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
    task_id: str,
) -> Response[ErrorEnvelope | ErrorEnvelope | TaskRecordSuccess]:
    """Get Task Details

     Query the status and results of a generation task by its task ID. Recommended polling: every 2-3 s
    for the first 30 s, then every 5-10 s, after 2 minutes every 15-30 s; stop after 10-15 minutes.
    Result URLs typically expire after 24 hours.

    Args:
        task_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | ErrorEnvelope | TaskRecordSuccess]
    """

    kwargs = get_kwargs(
        task_id=task_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    task_id: str,
) -> ErrorEnvelope | ErrorEnvelope | TaskRecordSuccess | None:
    """Get Task Details

     Query the status and results of a generation task by its task ID. Recommended polling: every 2-3 s
    for the first 30 s, then every 5-10 s, after 2 minutes every 15-30 s; stop after 10-15 minutes.
    Result URLs typically expire after 24 hours.

    Args:
        task_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | ErrorEnvelope | TaskRecordSuccess
    """

    return sync_detailed(
        client=client,
        task_id=task_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    task_id: str,
) -> Response[ErrorEnvelope | ErrorEnvelope | TaskRecordSuccess]:
    """Get Task Details

     Query the status and results of a generation task by its task ID. Recommended polling: every 2-3 s
    for the first 30 s, then every 5-10 s, after 2 minutes every 15-30 s; stop after 10-15 minutes.
    Result URLs typically expire after 24 hours.

    Args:
        task_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | ErrorEnvelope | TaskRecordSuccess]
    """

    kwargs = get_kwargs(
        task_id=task_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    task_id: str,
) -> ErrorEnvelope | ErrorEnvelope | TaskRecordSuccess | None:
    """Get Task Details

     Query the status and results of a generation task by its task ID. Recommended polling: every 2-3 s
    for the first 30 s, then every 5-10 s, after 2 minutes every 15-30 s; stop after 10-15 minutes.
    Result URLs typically expire after 24 hours.

    Args:
        task_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | ErrorEnvelope | TaskRecordSuccess
    """

    return (
        await asyncio_detailed(
            client=client,
            task_id=task_id,
        )
    ).parsed
