from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kling_v21_master_text_to_video_input_aspect_ratio import KlingV21MasterTextToVideoInputAspectRatio
from ..models.kling_v21_master_text_to_video_input_duration import KlingV21MasterTextToVideoInputDuration
from ..types import UNSET, Unset

T = TypeVar("T", bound="KlingV21MasterTextToVideoInput")


@_attrs_define
class KlingV21MasterTextToVideoInput:
    """Input parameters for the generation task

    Attributes:
        prompt (str): The text prompt describing the video you want to generate (Max length: 5000 characters) Example:
            First-person view from a soldier jumping from a transport plane — the camera shakes with turbulence, oxygen mask
            reflections flicker — as the clouds part, the battlefield below pulses with anti-air fire and missile trails..
        duration (KlingV21MasterTextToVideoInputDuration | Unset): The duration of the generated video in seconds
            Default: KlingV21MasterTextToVideoInputDuration.VALUE_0. Example: 5.
        aspect_ratio (KlingV21MasterTextToVideoInputAspectRatio | Unset): The aspect ratio of the generated video frame
            Default: KlingV21MasterTextToVideoInputAspectRatio.VALUE_0. Example: 16:9.
        negative_prompt (str | Unset): Elements to avoid in the generated video (Max length: 500 characters) Example:
            blur, distort, and low quality.
        cfg_scale (float | Unset): The CFG (Classifier Free Guidance) scale is a measure of how close you want the model
            to stick to your prompt (Min: 0, Max: 1, Step: 0.1) (step: 0.1) Default: 0.5. Example: 0.5.
    """

    prompt: str
    duration: KlingV21MasterTextToVideoInputDuration | Unset = KlingV21MasterTextToVideoInputDuration.VALUE_0
    aspect_ratio: KlingV21MasterTextToVideoInputAspectRatio | Unset = KlingV21MasterTextToVideoInputAspectRatio.VALUE_0
    negative_prompt: str | Unset = UNSET
    cfg_scale: float | Unset = 0.5
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt

        duration: str | Unset = UNSET
        if not isinstance(self.duration, Unset):
            duration = self.duration.value

        aspect_ratio: str | Unset = UNSET
        if not isinstance(self.aspect_ratio, Unset):
            aspect_ratio = self.aspect_ratio.value

        negative_prompt = self.negative_prompt

        cfg_scale = self.cfg_scale

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "prompt": prompt,
            }
        )
        if duration is not UNSET:
            field_dict["duration"] = duration
        if aspect_ratio is not UNSET:
            field_dict["aspect_ratio"] = aspect_ratio
        if negative_prompt is not UNSET:
            field_dict["negative_prompt"] = negative_prompt
        if cfg_scale is not UNSET:
            field_dict["cfg_scale"] = cfg_scale

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        prompt = d.pop("prompt")

        _duration = d.pop("duration", UNSET)
        duration: KlingV21MasterTextToVideoInputDuration | Unset
        if isinstance(_duration, Unset):
            duration = UNSET
        else:
            duration = KlingV21MasterTextToVideoInputDuration(_duration)

        _aspect_ratio = d.pop("aspect_ratio", UNSET)
        aspect_ratio: KlingV21MasterTextToVideoInputAspectRatio | Unset
        if isinstance(_aspect_ratio, Unset):
            aspect_ratio = UNSET
        else:
            aspect_ratio = KlingV21MasterTextToVideoInputAspectRatio(_aspect_ratio)

        negative_prompt = d.pop("negative_prompt", UNSET)

        cfg_scale = d.pop("cfg_scale", UNSET)

        kling_v21_master_text_to_video_input = cls(
            prompt=prompt,
            duration=duration,
            aspect_ratio=aspect_ratio,
            negative_prompt=negative_prompt,
            cfg_scale=cfg_scale,
        )

        kling_v21_master_text_to_video_input.additional_properties = d
        return kling_v21_master_text_to_video_input

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
