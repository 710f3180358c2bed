from enum import StrEnum


class Kling30VideoInputMode(StrEnum):
    PRO = "pro"
    STD = "std"
    VALUE_2 = "4K"

    def __str__(self) -> str:
        return str(self.value)
