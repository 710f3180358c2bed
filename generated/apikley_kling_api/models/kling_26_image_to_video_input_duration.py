from enum import StrEnum


class Kling26ImageToVideoInputDuration(StrEnum):
    VALUE_0 = "5"
    VALUE_1 = "10"

    def __str__(self) -> str:
        return str(self.value)
