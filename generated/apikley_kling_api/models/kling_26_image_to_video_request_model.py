from enum import StrEnum


class Kling26ImageToVideoRequestModel(StrEnum):
    KLING_2_6IMAGE_TO_VIDEO = "kling-2.6/image-to-video"

    def __str__(self) -> str:
        return str(self.value)
