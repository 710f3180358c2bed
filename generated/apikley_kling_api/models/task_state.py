from enum import StrEnum


class TaskState(StrEnum):
    FAIL = "fail"
    GENERATING = "generating"
    QUEUING = "queuing"
    SUCCESS = "success"
    WAITING = "waiting"

    def __str__(self) -> str:
        return str(self.value)
