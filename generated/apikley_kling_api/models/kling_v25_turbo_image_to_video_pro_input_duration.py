from enum import StrEnum


class KlingV25TurboImageToVideoProInputDuration(StrEnum):
    VALUE_0 = "5"
    VALUE_1 = "10"

    def __str__(self) -> str:
        return str(self.value)
