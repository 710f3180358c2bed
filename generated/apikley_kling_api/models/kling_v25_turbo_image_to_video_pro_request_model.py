from enum import StrEnum


class KlingV25TurboImageToVideoProRequestModel(StrEnum):
    KLINGV2_5_TURBO_IMAGE_TO_VIDEO_PRO = "kling/v2-5-turbo-image-to-video-pro"

    def __str__(self) -> str:
        return str(self.value)
