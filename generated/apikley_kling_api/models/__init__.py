"""Contains all the data models used in inputs/outputs"""

from .api_response import ApiResponse
from .api_response_code import ApiResponseCode
from .create_task_data import CreateTaskData
from .create_task_input import CreateTaskInput
from .create_task_input_duration import CreateTaskInputDuration
from .create_task_request import CreateTaskRequest
from .create_task_request_model import CreateTaskRequestModel
from .create_task_success import CreateTaskSuccess
from .credits_success import CreditsSuccess
from .download_url_request import DownloadUrlRequest
from .download_url_success import DownloadUrlSuccess
from .error_code import ErrorCode
from .error_envelope import ErrorEnvelope
from .file_base_64_upload_request import FileBase64UploadRequest
from .file_stream_upload_request import FileStreamUploadRequest
from .file_upload_result import FileUploadResult
from .file_url_upload_request import FileUrlUploadRequest
from .success_marker import SuccessMarker
from .success_marker_code import SuccessMarkerCode
from .task_callback import TaskCallback
from .task_callback_data import TaskCallbackData
from .task_record import TaskRecord
from .task_record_success import TaskRecordSuccess
from .task_state import TaskState
from .uploaded_file import UploadedFile

__all__ = (
    "ApiResponse",
    "ApiResponseCode",
    "CreateTaskData",
    "CreateTaskInput",
    "CreateTaskInputDuration",
    "CreateTaskRequest",
    "CreateTaskRequestModel",
    "CreateTaskSuccess",
    "CreditsSuccess",
    "DownloadUrlRequest",
    "DownloadUrlSuccess",
    "ErrorCode",
    "ErrorEnvelope",
    "FileBase64UploadRequest",
    "FileStreamUploadRequest",
    "FileUploadResult",
    "FileUrlUploadRequest",
    "SuccessMarker",
    "SuccessMarkerCode",
    "TaskCallback",
    "TaskCallbackData",
    "TaskRecord",
    "TaskRecordSuccess",
    "TaskState",
    "UploadedFile",
)
