from enum import IntEnum


class SuccessMarkerCode(IntEnum):
    VALUE_200 = 200

    def __str__(self) -> str:
        return str(self.value)
