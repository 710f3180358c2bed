from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.task_callback_data import TaskCallbackData


T = TypeVar("T", bound="TaskCallback")


@_attrs_define
class TaskCallback:
    """
    Attributes:
        code (int): 200 on success, the failure code otherwise
        data (TaskCallbackData):
        msg (str | Unset):
        message (str | Unset):
    """

    code: int
    data: TaskCallbackData
    msg: str | Unset = UNSET
    message: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        data = self.data.to_dict()

        msg = self.msg

        message = self.message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "data": data,
            }
        )
        if msg is not UNSET:
            field_dict["msg"] = msg
        if message is not UNSET:
            field_dict["message"] = message

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.task_callback_data import TaskCallbackData  # noqa: PLC0415

        d = dict(src_dict)
        code = d.pop("code")

        data = TaskCallbackData.from_dict(d.pop("data"))

        msg = d.pop("msg", UNSET)

        message = d.pop("message", UNSET)

        task_callback = cls(
            code=code,
            data=data,
            msg=msg,
            message=message,
        )

        task_callback.additional_properties = d
        return task_callback

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
