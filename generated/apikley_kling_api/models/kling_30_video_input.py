from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kling_30_video_input_aspect_ratio import Kling30VideoInputAspectRatio
from ..models.kling_30_video_input_duration import Kling30VideoInputDuration
from ..models.kling_30_video_input_mode import Kling30VideoInputMode
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.kling_30_video_input_kling_elements_item import Kling30VideoInputKlingElementsItem
    from ..models.kling_30_video_input_multi_prompt_item import Kling30VideoInputMultiPromptItem


T = TypeVar("T", bound="Kling30VideoInput")


@_attrs_define
class Kling30VideoInput:
    """Input parameters for the generation task

    Attributes:
        sound (bool): Whether to enable sound effects. true enables sound effects, false disables them. When multi_shots
            is true, this field defaults to true. Default: False. Example: True.
        duration (Kling30VideoInputDuration): Total video duration in seconds. Integer value, range: 3 to 15. Default:
            Kling30VideoInputDuration.VALUE_2. Example: 5.
        aspect_ratio (Kling30VideoInputAspectRatio): Video aspect ratio. Options: 16:9, 9:16, 1:1. When image_urls(first
            and last frame images) is provided, this parameter is optional and the aspect ratio will be automatically
            adapted based on the uploaded images. Default: Kling30VideoInputAspectRatio.VALUE_0. Example: 16:9.
        mode (Kling30VideoInputMode): Generation mode. std has standard resolution, pro has higher resolution, 4K has 4K
            resolution.

            Resolution mapping:
            - **std mode**: 16:9 (1280×720), 9:16 (720×1280), 1:1 (720×720)
            - **pro mode**: 16:9 (1920×1080), 9:16 (1080×1920), 1:1 (1080×1080)
            - **4K mode**: 16:9 (3840×2160), 9:16 (2160×3840), 1:1 (2160×2160) Default: Kling30VideoInputMode.PRO. Example:
            pro.
        multi_shots (bool): Whether to use multi-shot mode. true enables multi-shot mode, false enables single-shot
            mode. Default: False. Example: False.
        prompt (str | Unset): Video generation prompt. Takes effect when multi_shots is false. Example: In a bright
            rehearsal room, sunlight streams through the window@element_dog.
        image_urls (list[str] | Unset): First and last frame image URLs. Required when elements are referenced in the
            prompt (using @element_name syntax). When multi_shots is false: if length is 2, index 0 is the first frame and
            index 1 is the last frame; if length is 1, the array item serves as the first frame. When multi_shots is true:
            only the first frame is supported. Example:
            ['https://static.aiquickdraw.com/tools/example/1764851002741_i0lEiI8I.png'].
        multi_prompt (list[Kling30VideoInputMultiPromptItem] | Unset): Shot prompts. Takes effect when multi_shots is
            true. Used to describe the text and duration of each shot. Supports up to 5 shots. Each shot duration is 1-12
            seconds. If you need to use elements, add them after the prompt. Example: [{'prompt': 'a happy dog in
            running@element_cat', 'duration': 3}, {'prompt': 'a happy dog play with a cat@element_dog', 'duration': 3}].
        kling_elements (list[Kling30VideoInputKlingElementsItem] | Unset): Referenced elements. Detailed information
            about elements referenced in the prompt. A single task can reference a maximum of three elements. Example:
            [{'name': 'element_dog', 'description': 'dog', 'element_input_urls':
            ['https://tempfileb.aiquickdraw.com/kieai/market/1770361808044_4RfUUJrI.jpeg',
            'https://tempfileb.aiquickdraw.com/kieai/market/1770361848336_ABQqRHBi.png']}].
    """

    sound: bool = False
    duration: Kling30VideoInputDuration = Kling30VideoInputDuration.VALUE_2
    aspect_ratio: Kling30VideoInputAspectRatio = Kling30VideoInputAspectRatio.VALUE_0
    mode: Kling30VideoInputMode = Kling30VideoInputMode.PRO
    multi_shots: bool = False
    prompt: str | Unset = UNSET
    image_urls: list[str] | Unset = UNSET
    multi_prompt: list[Kling30VideoInputMultiPromptItem] | Unset = UNSET
    kling_elements: list[Kling30VideoInputKlingElementsItem] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sound = self.sound

        duration = self.duration.value

        aspect_ratio = self.aspect_ratio.value

        mode = self.mode.value

        multi_shots = self.multi_shots

        prompt = self.prompt

        image_urls: list[str] | Unset = UNSET
        if not isinstance(self.image_urls, Unset):
            image_urls = self.image_urls

        multi_prompt: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.multi_prompt, Unset):
            multi_prompt = []
            for multi_prompt_item_data in self.multi_prompt:
                multi_prompt_item = multi_prompt_item_data.to_dict()
                multi_prompt.append(multi_prompt_item)

        kling_elements: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.kling_elements, Unset):
            kling_elements = []
            for kling_elements_item_data in self.kling_elements:
                kling_elements_item = kling_elements_item_data.to_dict()
                kling_elements.append(kling_elements_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sound": sound,
                "duration": duration,
                "aspect_ratio": aspect_ratio,
                "mode": mode,
                "multi_shots": multi_shots,
            }
        )
        if prompt is not UNSET:
            field_dict["prompt"] = prompt
        if image_urls is not UNSET:
            field_dict["image_urls"] = image_urls
        if multi_prompt is not UNSET:
            field_dict["multi_prompt"] = multi_prompt
        if kling_elements is not UNSET:
            field_dict["kling_elements"] = kling_elements

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.kling_30_video_input_kling_elements_item import Kling30VideoInputKlingElementsItem  # noqa: PLC0415
        from ..models.kling_30_video_input_multi_prompt_item import Kling30VideoInputMultiPromptItem  # noqa: PLC0415

        d = dict(src_dict)
        sound = d.pop("sound")

        duration = Kling30VideoInputDuration(d.pop("duration"))

        aspect_ratio = Kling30VideoInputAspectRatio(d.pop("aspect_ratio"))

        mode = Kling30VideoInputMode(d.pop("mode"))

        multi_shots = d.pop("multi_shots")

        prompt = d.pop("prompt", UNSET)

        image_urls = cast(list[str], d.pop("image_urls", UNSET))

        _multi_prompt = d.pop("multi_prompt", UNSET)
        multi_prompt: list[Kling30VideoInputMultiPromptItem] | Unset = UNSET
        if _multi_prompt is not UNSET:
            multi_prompt = []
            for multi_prompt_item_data in _multi_prompt:
                multi_prompt_item = Kling30VideoInputMultiPromptItem.from_dict(multi_prompt_item_data)

                multi_prompt.append(multi_prompt_item)

        _kling_elements = d.pop("kling_elements", UNSET)
        kling_elements: list[Kling30VideoInputKlingElementsItem] | Unset = UNSET
        if _kling_elements is not UNSET:
            kling_elements = []
            for kling_elements_item_data in _kling_elements:
                kling_elements_item = Kling30VideoInputKlingElementsItem.from_dict(kling_elements_item_data)

                kling_elements.append(kling_elements_item)

        kling_30_video_input = cls(
            sound=sound,
            duration=duration,
            aspect_ratio=aspect_ratio,
            mode=mode,
            multi_shots=multi_shots,
            prompt=prompt,
            image_urls=image_urls,
            multi_prompt=multi_prompt,
            kling_elements=kling_elements,
        )

        kling_30_video_input.additional_properties = d
        return kling_30_video_input

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
