from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_task_success import CreateTaskSuccess
from ...models.error_envelope import ErrorEnvelope
from ...models.kling_26_image_to_video_request import Kling26ImageToVideoRequest
from ...models.kling_30_video_request import Kling30VideoRequest
from ...models.kling_ai_avatar_standard_request import KlingAiAvatarStandardRequest
from ...models.kling_v21_master_image_to_video_request import KlingV21MasterImageToVideoRequest
from ...models.kling_v21_master_text_to_video_request import KlingV21MasterTextToVideoRequest
from ...models.kling_v21_pro_request import KlingV21ProRequest
from ...models.kling_v21_standard_request import KlingV21StandardRequest
from ...models.kling_v25_turbo_image_to_video_pro_request import KlingV25TurboImageToVideoProRequest
from ...types import Response


def get_kwargs(
    *,
    body: Kling26ImageToVideoRequest
    | Kling30VideoRequest
    | KlingAiAvatarStandardRequest
    | KlingV21MasterImageToVideoRequest
    | KlingV21MasterTextToVideoRequest
    | KlingV21ProRequest
    | KlingV21StandardRequest
    | KlingV25TurboImageToVideoProRequest,
) -> dict[str, Any]:
    """The arguments of httpx's request() for this endpoint (public: the SDK sends them on its own client)."""
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/jobs/createTask",
    }

    if isinstance(body, KlingV21StandardRequest):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, Kling26ImageToVideoRequest):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, Kling30VideoRequest):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, KlingAiAvatarStandardRequest):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, KlingV21MasterImageToVideoRequest):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, KlingV21MasterTextToVideoRequest):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, KlingV21ProRequest):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> CreateTaskSuccess | ErrorEnvelope:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = CreateTaskSuccess.from_dict(data)

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
) -> Response[CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope]:
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
    body: Kling26ImageToVideoRequest
    | Kling30VideoRequest
    | KlingAiAvatarStandardRequest
    | KlingV21MasterImageToVideoRequest
    | KlingV21MasterTextToVideoRequest
    | KlingV21ProRequest
    | KlingV21StandardRequest
    | KlingV25TurboImageToVideoProRequest,
) -> Response[CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope]:
    """Create a task with any Kling model

     One endpoint for every model: the body's `model` chooses its `input` schema.

    Args:
        body (Kling26ImageToVideoRequest | Kling30VideoRequest | KlingAiAvatarStandardRequest |
            KlingV21MasterImageToVideoRequest | KlingV21MasterTextToVideoRequest | KlingV21ProRequest
            | KlingV21StandardRequest | KlingV25TurboImageToVideoProRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope]
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
    body: Kling26ImageToVideoRequest
    | Kling30VideoRequest
    | KlingAiAvatarStandardRequest
    | KlingV21MasterImageToVideoRequest
    | KlingV21MasterTextToVideoRequest
    | KlingV21ProRequest
    | KlingV21StandardRequest
    | KlingV25TurboImageToVideoProRequest,
) -> CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope | None:
    """Create a task with any Kling model

     One endpoint for every model: the body's `model` chooses its `input` schema.

    Args:
        body (Kling26ImageToVideoRequest | Kling30VideoRequest | KlingAiAvatarStandardRequest |
            KlingV21MasterImageToVideoRequest | KlingV21MasterTextToVideoRequest | KlingV21ProRequest
            | KlingV21StandardRequest | KlingV25TurboImageToVideoProRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: Kling26ImageToVideoRequest
    | Kling30VideoRequest
    | KlingAiAvatarStandardRequest
    | KlingV21MasterImageToVideoRequest
    | KlingV21MasterTextToVideoRequest
    | KlingV21ProRequest
    | KlingV21StandardRequest
    | KlingV25TurboImageToVideoProRequest,
) -> Response[CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope]:
    """Create a task with any Kling model

     One endpoint for every model: the body's `model` chooses its `input` schema.

    Args:
        body (Kling26ImageToVideoRequest | Kling30VideoRequest | KlingAiAvatarStandardRequest |
            KlingV21MasterImageToVideoRequest | KlingV21MasterTextToVideoRequest | KlingV21ProRequest
            | KlingV21StandardRequest | KlingV25TurboImageToVideoProRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope]
    """

    kwargs = get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: Kling26ImageToVideoRequest
    | Kling30VideoRequest
    | KlingAiAvatarStandardRequest
    | KlingV21MasterImageToVideoRequest
    | KlingV21MasterTextToVideoRequest
    | KlingV21ProRequest
    | KlingV21StandardRequest
    | KlingV25TurboImageToVideoProRequest,
) -> CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope | None:
    """Create a task with any Kling model

     One endpoint for every model: the body's `model` chooses its `input` schema.

    Args:
        body (Kling26ImageToVideoRequest | Kling30VideoRequest | KlingAiAvatarStandardRequest |
            KlingV21MasterImageToVideoRequest | KlingV21MasterTextToVideoRequest | KlingV21ProRequest
            | KlingV21StandardRequest | KlingV25TurboImageToVideoProRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
