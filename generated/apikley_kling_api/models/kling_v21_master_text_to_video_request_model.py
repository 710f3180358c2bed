from enum import StrEnum


class KlingV21MasterTextToVideoRequestModel(StrEnum):
    KLINGV2_1_MASTER_TEXT_TO_VIDEO = "kling/v2-1-master-text-to-video"

    def __str__(self) -> str:
        return str(self.value)
