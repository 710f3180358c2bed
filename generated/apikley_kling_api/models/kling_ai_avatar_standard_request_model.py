from enum import StrEnum


class KlingAiAvatarStandardRequestModel(StrEnum):
    KLINGAI_AVATAR_STANDARD = "kling/ai-avatar-standard"

    def __str__(self) -> str:
        return str(self.value)
