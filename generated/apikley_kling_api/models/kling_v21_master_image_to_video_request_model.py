from enum import StrEnum


class KlingV21MasterImageToVideoRequestModel(StrEnum):
    KLINGV2_1_MASTER_IMAGE_TO_VIDEO = "kling/v2-1-master-image-to-video"

    def __str__(self) -> str:
        return str(self.value)
