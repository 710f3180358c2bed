from enum import StrEnum


class Kling30VideoRequestModel(StrEnum):
    KLING_3_0VIDEO = "kling-3.0/video"

    def __str__(self) -> str:
        return str(self.value)
