from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kling_30_video_request_model import Kling30VideoRequestModel
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.kling_30_video_input import Kling30VideoInput


T = TypeVar("T", bound="Kling30VideoRequest")


@_attrs_define
class Kling30VideoRequest:
    """
    Example:
        {'model': 'kling-3.0/video', 'callBackUrl': 'https://your-domain.com/api/callback', 'input': {'prompt': 'In a
            bright rehearsal room, sunlight streams through the window @element_dog', 'image_urls':
            ['https://static.aiquickdraw.com/tools/example/1764851002741_i0lEiI8I.png'], 'sound': True, 'duration': '5',
            'aspect_ratio': '16:9', 'mode': 'pro', 'multi_shots': False, 'multi_prompt': [{'prompt': 'a happy dog in running
            @element_cat', 'duration': 3}, {'prompt': 'a happy dog play with a cat @element_dog', 'duration': 2}],
            'kling_elements': [{'name': 'element_dog', 'description': 'dog', 'element_input_urls':
            ['https://tempfileb.aiquickdraw.com/kieai/market/1770361808044_4RfUUJrI.jpeg',
            'https://tempfileb.aiquickdraw.com/kieai/market/1770361848336_ABQqRHBi.png'], 'element_input_audio_urls':
            ['https://your-cdn.com/wjeoiajfosijfoi.mp3']}, {'name': 'element_cat', 'description': 'cat',
            'element_input_urls': ['https://your-cdn.com/element_image.mp4'], 'element_input_audio_urls': ['https://your-
            cdn.com/wjeoiajfosijfoi.mp3'], 'start_time': 0, 'end_time': 8000}]}}

    Attributes:
        model (Kling30VideoRequestModel): Generation mode. std has standard resolution, pro has higher resolution.
            Default: Kling30VideoRequestModel.KLING_3_0VIDEO. Example: kling-3.0/video.
        input_ (Kling30VideoInput): Input parameters for the generation task
        call_back_url (str | Unset): The URL to receive generation task completion updates. Optional but recommended for
            production use.

            - System will POST task status and results to this URL when generation completes
            - Callback includes generated content URLs and task information
            - Your callback endpoint should accept POST requests with JSON payload containing results
            - Alternatively, use the Get Task Details endpoint to poll task status
            - To ensure callback security, see [Webhook Verification Guide](/common-api/webhook-verification) for signature
            verification implementation Example: https://your-domain.com/api/callback.
    """

    input_: Kling30VideoInput
    model: Kling30VideoRequestModel = Kling30VideoRequestModel.KLING_3_0VIDEO
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
        from ..models.kling_30_video_input import Kling30VideoInput  # noqa: PLC0415

        d = dict(src_dict)
        model = Kling30VideoRequestModel(d.pop("model"))

        input_ = Kling30VideoInput.from_dict(d.pop("input"))

        call_back_url = d.pop("callBackUrl", UNSET)

        kling_30_video_request = cls(
            model=model,
            input_=input_,
            call_back_url=call_back_url,
        )

        kling_30_video_request.additional_properties = d
        return kling_30_video_request

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
