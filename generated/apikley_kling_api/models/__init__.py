"""Contains all the data models used in inputs/outputs"""

from .api_response import ApiResponse
from .api_response_code import ApiResponseCode
from .create_task_data import CreateTaskData
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
from .kling_26_image_to_video_input import Kling26ImageToVideoInput
from .kling_26_image_to_video_input_duration import Kling26ImageToVideoInputDuration
from .kling_26_image_to_video_request import Kling26ImageToVideoRequest
from .kling_26_image_to_video_request_model import Kling26ImageToVideoRequestModel
from .kling_30_video_input import Kling30VideoInput
from .kling_30_video_input_aspect_ratio import Kling30VideoInputAspectRatio
from .kling_30_video_input_duration import Kling30VideoInputDuration
from .kling_30_video_input_kling_elements_item import Kling30VideoInputKlingElementsItem
from .kling_30_video_input_mode import Kling30VideoInputMode
from .kling_30_video_input_multi_prompt_item import Kling30VideoInputMultiPromptItem
from .kling_30_video_request import Kling30VideoRequest
from .kling_30_video_request_model import Kling30VideoRequestModel
from .kling_ai_avatar_standard_input import KlingAiAvatarStandardInput
from .kling_ai_avatar_standard_request import KlingAiAvatarStandardRequest
from .kling_ai_avatar_standard_request_model import KlingAiAvatarStandardRequestModel
from .kling_v21_master_image_to_video_input import KlingV21MasterImageToVideoInput
from .kling_v21_master_image_to_video_input_duration import KlingV21MasterImageToVideoInputDuration
from .kling_v21_master_image_to_video_request import KlingV21MasterImageToVideoRequest
from .kling_v21_master_image_to_video_request_model import KlingV21MasterImageToVideoRequestModel
from .kling_v21_master_text_to_video_input import KlingV21MasterTextToVideoInput
from .kling_v21_master_text_to_video_input_aspect_ratio import KlingV21MasterTextToVideoInputAspectRatio
from .kling_v21_master_text_to_video_input_duration import KlingV21MasterTextToVideoInputDuration
from .kling_v21_master_text_to_video_request import KlingV21MasterTextToVideoRequest
from .kling_v21_master_text_to_video_request_model import KlingV21MasterTextToVideoRequestModel
from .kling_v21_pro_input import KlingV21ProInput
from .kling_v21_pro_input_duration import KlingV21ProInputDuration
from .kling_v21_pro_request import KlingV21ProRequest
from .kling_v21_pro_request_model import KlingV21ProRequestModel
from .kling_v21_standard_input import KlingV21StandardInput
from .kling_v21_standard_input_duration import KlingV21StandardInputDuration
from .kling_v21_standard_request import KlingV21StandardRequest
from .kling_v21_standard_request_model import KlingV21StandardRequestModel
from .kling_v25_turbo_image_to_video_pro_input import KlingV25TurboImageToVideoProInput
from .kling_v25_turbo_image_to_video_pro_input_duration import KlingV25TurboImageToVideoProInputDuration
from .kling_v25_turbo_image_to_video_pro_request import KlingV25TurboImageToVideoProRequest
from .kling_v25_turbo_image_to_video_pro_request_model import KlingV25TurboImageToVideoProRequestModel
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
    "Kling26ImageToVideoInput",
    "Kling26ImageToVideoInputDuration",
    "Kling26ImageToVideoRequest",
    "Kling26ImageToVideoRequestModel",
    "Kling30VideoInput",
    "Kling30VideoInputAspectRatio",
    "Kling30VideoInputDuration",
    "Kling30VideoInputKlingElementsItem",
    "Kling30VideoInputMode",
    "Kling30VideoInputMultiPromptItem",
    "Kling30VideoRequest",
    "Kling30VideoRequestModel",
    "KlingAiAvatarStandardInput",
    "KlingAiAvatarStandardRequest",
    "KlingAiAvatarStandardRequestModel",
    "KlingV21MasterImageToVideoInput",
    "KlingV21MasterImageToVideoInputDuration",
    "KlingV21MasterImageToVideoRequest",
    "KlingV21MasterImageToVideoRequestModel",
    "KlingV21MasterTextToVideoInput",
    "KlingV21MasterTextToVideoInputAspectRatio",
    "KlingV21MasterTextToVideoInputDuration",
    "KlingV21MasterTextToVideoRequest",
    "KlingV21MasterTextToVideoRequestModel",
    "KlingV21ProInput",
    "KlingV21ProInputDuration",
    "KlingV21ProRequest",
    "KlingV21ProRequestModel",
    "KlingV21StandardInput",
    "KlingV21StandardInputDuration",
    "KlingV21StandardRequest",
    "KlingV21StandardRequestModel",
    "KlingV25TurboImageToVideoProInput",
    "KlingV25TurboImageToVideoProInputDuration",
    "KlingV25TurboImageToVideoProRequest",
    "KlingV25TurboImageToVideoProRequestModel",
    "SuccessMarker",
    "SuccessMarkerCode",
    "TaskCallback",
    "TaskCallbackData",
    "TaskRecord",
    "TaskRecordSuccess",
    "TaskState",
    "UploadedFile",
)
