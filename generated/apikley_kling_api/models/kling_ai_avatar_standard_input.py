from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="KlingAiAvatarStandardInput")


@_attrs_define
class KlingAiAvatarStandardInput:
    """Input parameters for the generation task

    Attributes:
        image_url (str): The URL of the image to use as your avatar (File URL after upload, not file content; Accepted
            types: image/jpeg, image/png, image/webp; Max size: 10.0MB) Example: https://file.aiquickdraw.com/custom-
            page/akr/section-images/17579268936223zs9l3dt.png.
        audio_url (str): The URL of the audio file (File URL after upload, not file content; Accepted types: audio/mpeg,
            audio/wav, audio/x-wav, audio/aac, audio/mp4, audio/ogg; Max size: 10.0MB) Example:
            https://file.aiquickdraw.com/custom-page/akr/section-images/17579258340109gghun47.mp3.
        prompt (str): The prompt to use for the video generation (Max length: 5000 characters)
    """

    image_url: str
    audio_url: str
    prompt: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        image_url = self.image_url

        audio_url = self.audio_url

        prompt = self.prompt

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "image_url": image_url,
                "audio_url": audio_url,
                "prompt": prompt,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        image_url = d.pop("image_url")

        audio_url = d.pop("audio_url")

        prompt = d.pop("prompt")

        kling_ai_avatar_standard_input = cls(
            image_url=image_url,
            audio_url=audio_url,
            prompt=prompt,
        )

        kling_ai_avatar_standard_input.additional_properties = d
        return kling_ai_avatar_standard_input

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
