from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.kling_v21_standard_request_model import KlingV21StandardRequestModel
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.kling_v21_standard_input import KlingV21StandardInput


T = TypeVar("T", bound="KlingV21StandardRequest")


@_attrs_define
class KlingV21StandardRequest:
    """
    Example:
        {'model': 'kling/v2-1-standard', 'callBackUrl': 'https://your-domain.com/api/callback', 'input': {'prompt':
            'Begin with the uploaded image as the first frame. Gradually animate the scene: steam rises and drifts upward
            from the train; lantern lights flicker subtly; cloaked figures begin to move slowly — walking, turning,
            adjusting their belongings. Floating dust or magical particles catch the light. The text “KLING 2.1 STANDARD API
            — Now on Apikley” softly pulses with a golden glow. The camera pushes forward slightly, then slowly fades to
            black.', 'image_url': 'https://file.aiquickdraw.com/custom-page/akr/section-images/1755256596169mkkwr2ag.webp',
            'duration': '5', 'negative_prompt': 'blur, distort, and low quality', 'cfg_scale': 0.5}}

    Attributes:
        model (KlingV21StandardRequestModel): The model name to use for generation. Required field.
            - Must be `kling/v2-1-standard` for this endpoint Default: KlingV21StandardRequestModel.KLINGV2_1_STANDARD.
            Example: kling/v2-1-standard.
        input_ (KlingV21StandardInput): Input parameters for the generation task
        call_back_url (str | Unset): The URL to receive generation task completion updates. Optional but recommended for
            production use.
            - System will POST task status and results to this URL when generation completes
            - Callback includes generated content URLs and task information
            - Your callback endpoint should accept POST requests with JSON payload containing results
            - Alternatively, use the Get Task Details endpoint to poll task status Example: https://your-
            domain.com/api/callback.
    """

    input_: KlingV21StandardInput
    model: KlingV21StandardRequestModel = KlingV21StandardRequestModel.KLINGV2_1_STANDARD
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
        from ..models.kling_v21_standard_input import KlingV21StandardInput  # noqa: PLC0415

        d = dict(src_dict)
        model = KlingV21StandardRequestModel(d.pop("model"))

        input_ = KlingV21StandardInput.from_dict(d.pop("input"))

        call_back_url = d.pop("callBackUrl", UNSET)

        kling_v21_standard_request = cls(
            model=model,
            input_=input_,
            call_back_url=call_back_url,
        )

        kling_v21_standard_request.additional_properties = d
        return kling_v21_standard_request

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
