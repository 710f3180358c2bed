from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kling_ai_avatar_standard_request_model import KlingAiAvatarStandardRequestModel
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.kling_ai_avatar_standard_input import KlingAiAvatarStandardInput


T = TypeVar("T", bound="KlingAiAvatarStandardRequest")


@_attrs_define
class KlingAiAvatarStandardRequest:
    """
    Example:
        {'model': 'kling/ai-avatar-standard', 'callBackUrl': 'https://your-domain.com/api/callback', 'input':
            {'image_url': 'https://file.aiquickdraw.com/custom-page/akr/section-images/17579268936223zs9l3dt.png',
            'audio_url': 'https://file.aiquickdraw.com/custom-page/akr/section-images/17579258340109gghun47.mp3', 'prompt':
            ''}}

    Attributes:
        model (KlingAiAvatarStandardRequestModel): The model name to use for generation. Required field.

            - Must be `kling/ai-avatar-standard` for this endpoint Default:
            KlingAiAvatarStandardRequestModel.KLINGAI_AVATAR_STANDARD. Example: kling/ai-avatar-standard.
        input_ (KlingAiAvatarStandardInput): Input parameters for the generation task
        call_back_url (str | Unset): The URL to receive generation task completion updates. Optional but recommended for
            production use.

            - System will POST task status and results to this URL when generation completes
            - Callback includes generated content URLs and task information
            - Your callback endpoint should accept POST requests with JSON payload containing results
            - Alternatively, use the Get Task Details endpoint to poll task status
            - To ensure callback security, see [Webhook Verification Guide](/common-api/webhook-verification) for signature
            verification implementation Example: https://your-domain.com/api/callback.
    """

    input_: KlingAiAvatarStandardInput
    model: KlingAiAvatarStandardRequestModel = KlingAiAvatarStandardRequestModel.KLINGAI_AVATAR_STANDARD
    call_back_url: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        model = self.model.value

        input_ = self.input_.to_dict()

        call_back_url = self.call_back_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "model": model,
                "input": input_,
            }
        )
        if call_back_url is not UNSET:
            field_dict["callBackUrl"] = call_back_url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.kling_ai_avatar_standard_input import KlingAiAvatarStandardInput  # noqa: PLC0415

        d = dict(src_dict)
        model = KlingAiAvatarStandardRequestModel(d.pop("model"))

        input_ = KlingAiAvatarStandardInput.from_dict(d.pop("input"))

        call_back_url = d.pop("callBackUrl", UNSET)

        kling_ai_avatar_standard_request = cls(
            model=model,
            input_=input_,
            call_back_url=call_back_url,
        )

        kling_ai_avatar_standard_request.additional_properties = d
        return kling_ai_avatar_standard_request

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
