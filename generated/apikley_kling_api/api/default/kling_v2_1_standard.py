from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_task_request import CreateTaskRequest
from ...models.create_task_success import CreateTaskSuccess
from ...models.error_envelope import ErrorEnvelope
from ...types import Response


def _get_kwargs(
    *,
    body: CreateTaskRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/jobs/createTask",
    }

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope]:
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
    body: CreateTaskRequest,
) -> Response[CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope]:
    """Generate content using kling/v2-1-standard

    Args:
        body (CreateTaskRequest):  Example: {'model': 'kling/v2-1-standard', 'callBackUrl':
            'https://your-domain.com/api/callback', 'input': {'prompt': 'Begin with the uploaded image
            as the first frame. Gradually animate the scene: steam rises and drifts upward from the
            train; lantern lights flicker subtly; cloaked figures begin to move slowly — walking,
            turning, adjusting their belongings. Floating dust or magical particles catch the light.
            The text “KLING 2.1 STANDARD API — Now on Apikley” softly pulses with a golden glow. The
            camera pushes forward slightly, then slowly fades to black.', 'image_url':
            'https://file.aiquickdraw.com/custom-page/akr/section-images/1755256596169mkkwr2ag.webp',
            'duration': '5', 'negative_prompt': 'blur, distort, and low quality', 'cfg_scale': 0.5}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: CreateTaskRequest,
) -> CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope | None:
    """Generate content using kling/v2-1-standard

    Args:
        body (CreateTaskRequest):  Example: {'model': 'kling/v2-1-standard', 'callBackUrl':
            'https://your-domain.com/api/callback', 'input': {'prompt': 'Begin with the uploaded image
            as the first frame. Gradually animate the scene: steam rises and drifts upward from the
            train; lantern lights flicker subtly; cloaked figures begin to move slowly — walking,
            turning, adjusting their belongings. Floating dust or magical particles catch the light.
            The text “KLING 2.1 STANDARD API — Now on Apikley” softly pulses with a golden glow. The
            camera pushes forward slightly, then slowly fades to black.', 'image_url':
            'https://file.aiquickdraw.com/custom-page/akr/section-images/1755256596169mkkwr2ag.webp',
            'duration': '5', 'negative_prompt': 'blur, distort, and low quality', 'cfg_scale': 0.5}}.

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
    body: CreateTaskRequest,
) -> Response[CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope]:
    """Generate content using kling/v2-1-standard

    Args:
        body (CreateTaskRequest):  Example: {'model': 'kling/v2-1-standard', 'callBackUrl':
            'https://your-domain.com/api/callback', 'input': {'prompt': 'Begin with the uploaded image
            as the first frame. Gradually animate the scene: steam rises and drifts upward from the
            train; lantern lights flicker subtly; cloaked figures begin to move slowly — walking,
            turning, adjusting their belongings. Floating dust or magical particles catch the light.
            The text “KLING 2.1 STANDARD API — Now on Apikley” softly pulses with a golden glow. The
            camera pushes forward slightly, then slowly fades to black.', 'image_url':
            'https://file.aiquickdraw.com/custom-page/akr/section-images/1755256596169mkkwr2ag.webp',
            'duration': '5', 'negative_prompt': 'blur, distort, and low quality', 'cfg_scale': 0.5}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CreateTaskRequest,
) -> CreateTaskSuccess | ErrorEnvelope | ErrorEnvelope | None:
    """Generate content using kling/v2-1-standard

    Args:
        body (CreateTaskRequest):  Example: {'model': 'kling/v2-1-standard', 'callBackUrl':
            'https://your-domain.com/api/callback', 'input': {'prompt': 'Begin with the uploaded image
            as the first frame. Gradually animate the scene: steam rises and drifts upward from the
            train; lantern lights flicker subtly; cloaked figures begin to move slowly — walking,
            turning, adjusting their belongings. Floating dust or magical particles catch the light.
            The text “KLING 2.1 STANDARD API — Now on Apikley” softly pulses with a golden glow. The
            camera pushes forward slightly, then slowly fades to black.', 'image_url':
            'https://file.aiquickdraw.com/custom-page/akr/section-images/1755256596169mkkwr2ag.webp',
            'duration': '5', 'negative_prompt': 'blur, distort, and low quality', 'cfg_scale': 0.5}}.

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
