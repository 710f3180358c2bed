from enum import StrEnum


class KlingV21ProRequestModel(StrEnum):
    KLINGV2_1_PRO = "kling/v2-1-pro"

    def __str__(self) -> str:
        return str(self.value)
