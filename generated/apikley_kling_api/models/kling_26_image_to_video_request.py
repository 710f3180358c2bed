from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kling_26_image_to_video_request_model import Kling26ImageToVideoRequestModel
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.kling_26_image_to_video_input import Kling26ImageToVideoInput


T = TypeVar("T", bound="Kling26ImageToVideoRequest")


@_attrs_define
class Kling26ImageToVideoRequest:
    """
    Example:
        {'model': 'kling-2.6/image-to-video', 'callBackUrl': 'https://your-domain.com/api/callback', 'input': {'prompt':
            'In a bright rehearsal room, sunlight streams through the windows, and a standing microphone is placed in the
            center of the room. [Campus band female lead singer] stands in front of the microphone with her eyes closed, and
            other members stand around her. [Campus band female lead singer, singing loudly] Lead vocal: "I will do my best
            to heal you, with all my heart and soul..." The background is a cappella harmonies, and the camera slowly pans
            around the band members.', 'image_urls':
            ['https://static.aiquickdraw.com/tools/example/1764851002741_i0lEiI8I.png'], 'sound': False, 'duration': '5'}}

    Attributes:
        model (Kling26ImageToVideoRequestModel): Name of the model used for the generation task. Required field.

            - This endpoint must use the `kling-2.6/image-to-video` model Default:
            Kling26ImageToVideoRequestModel.KLING_2_6IMAGE_TO_VIDEO. Example: kling-2.6/image-to-video.
        input_ (Kling26ImageToVideoInput): Input parameters for the generation task
        call_back_url (str | Unset): Callback URL to receive notifications when the generation task is completed.
            Optional configuration, recommended for production environments.

            - After the task is completed, the system will POST the task status and results to this URL
            - The callback content includes the generated resource URL and task-related information
            - Your callback endpoint needs to support receiving POST requests with JSON payloads
            - You can also choose to call the task details endpoint to actively poll the task status
            - To ensure callback security, see [Webhook Verification Guide](/common-api/webhook-verification) for signature
            verification implementation Example: https://your-domain.com/api/callback.
    """

    input_: Kling26ImageToVideoInput
    model: Kling26ImageToVideoRequestModel = Kling26ImageToVideoRequestModel.KLING_2_6IMAGE_TO_VIDEO
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
        from ..models.kling_26_image_to_video_input import Kling26ImageToVideoInput  # noqa: PLC0415

        d = dict(src_dict)
        model = Kling26ImageToVideoRequestModel(d.pop("model"))

        input_ = Kling26ImageToVideoInput.from_dict(d.pop("input"))

        call_back_url = d.pop("callBackUrl", UNSET)

        kling_26_image_to_video_request = cls(
            model=model,
            input_=input_,
            call_back_url=call_back_url,
        )

        kling_26_image_to_video_request.additional_properties = d
        return kling_26_image_to_video_request

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
