from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Kling30VideoInputKlingElementsItem")


@_attrs_define
class Kling30VideoInputKlingElementsItem:
    """
    Attributes:
        name (str): Element name, used in prompt with @ prefix (e.g., @element_dog) Example: element_dog.
        description (str): Element description Example: dog.
        element_input_urls (list[str]): Image URLs for the element. 2-4 URLs required. Accepted formats: JPG, PNG.
            Maximum file size: 10MB per image. Example:
            ['https://tempfileb.aiquickdraw.com/kieai/market/1770361808044_4RfUUJrI.jpeg',
            'https://tempfileb.aiquickdraw.com/kieai/market/1770361848336_ABQqRHBi.png'].
        element_input_audio_urls (list[str] | Unset): Optional. List of audio material URLs for characters. The audio
            duration must be between 5 and 30 seconds.
        start_time (int | Unset): Start time for video character material capture (in milliseconds). Only effective when
            uploading videos through element_input_urls. If not uploaded, it defaults to 0.
        end_time (int | Unset): End time for video character material capture (in milliseconds). Only effective when
            uploading videos through element_input_urls. Must be greater than start_time, and the difference between
            end_time and start_time must be within 3000 to 8000 milliseconds.
    """

    name: str
    description: str
    element_input_urls: list[str]
    element_input_audio_urls: list[str] | Unset = UNSET
    start_time: int | Unset = UNSET
    end_time: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        description = self.description

        element_input_urls = self.element_input_urls

        element_input_audio_urls: list[str] | Unset = UNSET
        if not isinstance(self.element_input_audio_urls, Unset):
            element_input_audio_urls = self.element_input_audio_urls

        start_time = self.start_time

        end_time = self.end_time

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "description": description,
                "element_input_urls": element_input_urls,
            }
        )
        if element_input_audio_urls is not UNSET:
            field_dict["element_input_audio_urls"] = element_input_audio_urls
        if start_time is not UNSET:
            field_dict["start_time"] = start_time
        if end_time is not UNSET:
            field_dict["end_time"] = end_time

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        description = d.pop("description")

        element_input_urls = cast(list[str], d.pop("element_input_urls"))

        element_input_audio_urls = cast(list[str], d.pop("element_input_audio_urls", UNSET))

        start_time = d.pop("start_time", UNSET)

        end_time = d.pop("end_time", UNSET)

        kling_30_video_input_kling_elements_item = cls(
            name=name,
            description=description,
            element_input_urls=element_input_urls,
            element_input_audio_urls=element_input_audio_urls,
            start_time=start_time,
            end_time=end_time,
        )

        kling_30_video_input_kling_elements_item.additional_properties = d
        return kling_30_video_input_kling_elements_item

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
