from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kling_26_image_to_video_input_duration import Kling26ImageToVideoInputDuration

T = TypeVar("T", bound="Kling26ImageToVideoInput")


@_attrs_define
class Kling26ImageToVideoInput:
    """Input parameters for the generation task

    Attributes:
        prompt (str): Text prompt for video generation (maximum length: 1000 characters) Example: In a bright rehearsal
            room, sunlight streams through the windows, and a standing microphone is placed in the center of the room.
            [Campus band female lead singer] stands in front of the microphone with her eyes closed, and other members stand
            around her. [Campus band female lead singer, singing loudly] Lead vocal: "I will do my best to heal you, with
            all my heart and soul..." The background is a cappella harmonies, and the camera slowly pans around the band
            members..
        image_urls (list[str]): Image URLs for video generation. (Uploaded file URLs, not file content; supported types:
            image/jpeg, image/png; maximum file size: 10.0MB) Example:
            ['https://static.aiquickdraw.com/tools/example/1764851002741_i0lEiI8I.png'].
        sound (bool): This parameter specifies whether the generated video contains sound (boolean: true/false) Example:
            False.
        duration (Kling26ImageToVideoInputDuration): Video duration (unit: seconds) Default:
            Kling26ImageToVideoInputDuration.VALUE_0. Example: 5.
    """

    prompt: str
    image_urls: list[str]
    sound: bool
    duration: Kling26ImageToVideoInputDuration = Kling26ImageToVideoInputDuration.VALUE_0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt

        image_urls = self.image_urls

        sound = self.sound

        duration = self.duration.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "prompt": prompt,
                "image_urls": image_urls,
                "sound": sound,
                "duration": duration,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        prompt = d.pop("prompt")

        image_urls = cast(list[str], d.pop("image_urls"))

        sound = d.pop("sound")

        duration = Kling26ImageToVideoInputDuration(d.pop("duration"))

        kling_26_image_to_video_input = cls(
            prompt=prompt,
            image_urls=image_urls,
            sound=sound,
            duration=duration,
        )

        kling_26_image_to_video_input.additional_properties = d
        return kling_26_image_to_video_input

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
