from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kling_v21_standard_input_duration import KlingV21StandardInputDuration
from ..types import UNSET, Unset

T = TypeVar("T", bound="KlingV21StandardInput")


@_attrs_define
class KlingV21StandardInput:
    """Input parameters for the generation task

    Attributes:
        prompt (str): Text prompt describing the desired video content (Max length: 5000 characters) Example: Begin with
            the uploaded image as the first frame. Gradually animate the scene: steam rises and drifts upward from the
            train; lantern lights flicker subtly; cloaked figures begin to move slowly — walking, turning, adjusting their
            belongings. Floating dust or magical particles catch the light. The text “KLING 2.1 STANDARD API — Now on
            Apikley” softly pulses with a golden glow. The camera pushes forward slightly, then slowly fades to black..
        image_url (str): URL of the image to be used for the video (File URL after upload, not file content; Accepted
            types: image/jpeg, image/png, image/webp; Max size: 10.0MB) Example: https://file.aiquickdraw.com/custom-
            page/akr/section-images/1755256596169mkkwr2ag.webp.
        duration (KlingV21StandardInputDuration | Unset): The duration of the generated video in seconds Default:
            KlingV21StandardInputDuration.VALUE_0. Example: 5.
        negative_prompt (str | Unset): Description of elements to avoid in the generated video (Max length: 500
            characters) Example: blur, distort, and low quality.
        cfg_scale (float | Unset): The CFG (Classifier Free Guidance) scale is a measure of how close you want the model
            to stick to your prompt (Min: 0, Max: 1, Step: 0.1) (step: 0.1) Default: 0.5. Example: 0.5.
    """

    prompt: str
    image_url: str
    duration: KlingV21StandardInputDuration | Unset = KlingV21StandardInputDuration.VALUE_0
    negative_prompt: str | Unset = UNSET
    cfg_scale: float | Unset = 0.5
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt

        image_url = self.image_url

        duration: str | Unset = UNSET
        if not isinstance(self.duration, Unset):
            duration = self.duration.value

        negative_prompt = self.negative_prompt

        cfg_scale = self.cfg_scale

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "prompt": prompt,
                "image_url": image_url,
            }
        )
        if duration is not UNSET:
            field_dict["duration"] = duration
        if negative_prompt is not UNSET:
            field_dict["negative_prompt"] = negative_prompt
        if cfg_scale is not UNSET:
            field_dict["cfg_scale"] = cfg_scale

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        prompt = d.pop("prompt")

        image_url = d.pop("image_url")

        _duration = d.pop("duration", UNSET)
        duration: KlingV21StandardInputDuration | Unset
        if isinstance(_duration, Unset):
            duration = UNSET
        else:
            duration = KlingV21StandardInputDuration(_duration)

        negative_prompt = d.pop("negative_prompt", UNSET)

        cfg_scale = d.pop("cfg_scale", UNSET)

        kling_v21_standard_input = cls(
            prompt=prompt,
            image_url=image_url,
            duration=duration,
            negative_prompt=negative_prompt,
            cfg_scale=cfg_scale,
        )

        kling_v21_standard_input.additional_properties = d
        return kling_v21_standard_input

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
