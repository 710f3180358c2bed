from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.success_marker_code import SuccessMarkerCode
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.task_record import TaskRecord


T = TypeVar("T", bound="TaskRecordSuccess")


@_attrs_define
class TaskRecordSuccess:
    """
    Attributes:
        code (SuccessMarkerCode): Response status code
            - **200**: Success - Request has been processed successfully
            - **401**: Unauthorized - Authentication credentials are missing or invalid
            - **402**: Insufficient Credits - Account does not have enough credits to perform the operation
            - **404**: Not Found - The requested resource or endpoint does not exist
            - **422**: Validation Error - The request parameters failed validation checks
            - **429**: Rate Limited - Request limit has been exceeded for this resource
            - **455**: Service Unavailable - System is currently undergoing maintenance
            - **500**: Server Error - An unexpected error occurred while processing the request
            - **501**: Generation Failed - Content generation task failed
            - **505**: Feature Disabled - The requested feature is currently disabled
        data (TaskRecord):
        msg (str | Unset): Response message, error description when failed Example: success.
        message (str | Unset): Response message, as some answers name it instead of msg
    """

    code: SuccessMarkerCode
    data: TaskRecord
    msg: str | Unset = UNSET
    message: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code.value

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
        from ..models.task_record import TaskRecord  # noqa: PLC0415

        d = dict(src_dict)
        code = SuccessMarkerCode(d.pop("code"))

        data = TaskRecord.from_dict(d.pop("data"))

        msg = d.pop("msg", UNSET)

        message = d.pop("message", UNSET)

        task_record_success = cls(
            code=code,
            data=data,
            msg=msg,
            message=message,
        )

        task_record_success.additional_properties = d
        return task_record_success

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
