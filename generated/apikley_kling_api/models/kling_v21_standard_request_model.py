from enum import StrEnum


class KlingV21StandardRequestModel(StrEnum):
    KLINGV2_1_STANDARD = "kling/v2-1-standard"

    def __str__(self) -> str:
        return str(self.value)
