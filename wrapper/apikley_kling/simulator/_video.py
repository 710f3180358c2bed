"""Result videos: real MP4s whose first frame is the input image, then a slow camera push.

Encoding costs CPU, so results are made lazily (when first downloaded) and
cached by (first frame, seconds, size, sound): a thousand tasks on the same picture
cost one encode. The ultrafast preset and swscale keep a 5 s 720p clip under a second on one core.
A create that asks for sound (`clip.sound_field`) gets an AAC track: a quiet tone as long as the video,
mono at a low sample rate, so it adds little to the encode.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from fractions import Fraction
from typing import Any

WIDTH = 1280
HEIGHT = 720
FPS = 24
# How far the camera pushes in over the clip (1.08 = 8 % closer at the end).
ZOOM_END = 1.08
STEP = 2
Size = tuple[int, int]
# The sound track: a quiet sine (about -26 dBFS), mono AAC at 16 kHz with FFmpeg's fast coder: 15 s of it
# cost about a tenth of a second, a fifth of what the default coder at 24 kHz takes.
AUDIO_RATE = 16_000
AUDIO_OPTIONS = {"aac_coder": "fast", "b": "32000"}
TONE_HZ = 440.0
TONE_LEVEL = 0.05


def letterbox(image_bytes: bytes | None, size: Size = (WIDTH, HEIGHT), caption: str | None = None) -> object:
    """The input image fitted into `size` on black, aspect kept (a PIL RGB image).

    Without an image (a text-to-video model, or a URL the simulator could not
    fetch and was told to accept), a gradient stands in, with `caption` on it.
    """
    from PIL import Image

    width, height = size
    if image_bytes is None:
        return _drawn(size, caption)
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    with Image.open(io.BytesIO(image_bytes)) as src:
        img = src.convert("RGB")
    scale = min(width / img.width, height / img.height)
    fitted = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    if fitted != img.size:
        img = img.resize(fitted, Image.Resampling.BICUBIC)
    canvas.paste(img, ((width - fitted[0]) // 2, (height - fitted[1]) // 2))
    return canvas


def _drawn(size: Size, caption: str | None) -> object:
    from PIL import Image, ImageDraw, ImageFont

    width, height = size
    gradient = Image.linear_gradient("L").resize((width, height))
    img = Image.merge("RGB", (gradient, gradient, Image.new("L", (width, height), 128)))
    if caption:
        # One draw call on the first frame only: the push-in then moves the words like the rest.
        font = ImageFont.load_default(size=max(16, height // 18))
        ImageDraw.Draw(img).text((width // 16, height // 2), caption, fill=(255, 255, 255), font=font)
    return img


class _Tone:
    """An AAC stream of a sine tone, encoded as far as the video has got (so the two interleave)."""

    def __init__(self, container: Any, seconds: int) -> None:
        import numpy as np

        self.stream = container.add_stream("aac", rate=AUDIO_RATE, layout="mono", options=AUDIO_OPTIONS)
        self.container = container
        self.total = seconds * AUDIO_RATE
        self.done = 0
        t = np.arange(self.total, dtype=np.float64) / AUDIO_RATE
        self.samples = (TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)

    def until(self, seconds: float) -> None:
        """Encode the tone up to `seconds` into the clip, in whole encoder frames."""
        import av

        size = self.stream.codec_context.frame_size or 1024
        end = min(self.total, round(seconds * AUDIO_RATE))
        while self.done < end:
            chunk = self.samples[self.done : self.done + size]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = AUDIO_RATE
            frame.pts = self.done
            frame.time_base = Fraction(1, AUDIO_RATE)
            self.done += len(chunk)
            for packet in self.stream.encode(frame):
                self.container.mux(packet)

    def finish(self) -> None:
        self.until(self.total / AUDIO_RATE)
        for packet in self.stream.encode():
            self.container.mux(packet)


def encode(
    image_bytes: bytes | None,
    seconds: int,
    size: Size = (WIDTH, HEIGHT),
    caption: str | None = None,
    *,
    sound: bool = False,
) -> bytes:
    """An H.264/yuv420p MP4 of `seconds` at 24 fps, `size` pixels (1280x720 unless asked); when asked for, an AAC
    track of a quiet tone as long as the video (without, no audio stream at all)."""
    import av
    import numpy as np

    width, height = size
    pixels = np.asarray(letterbox(image_bytes, size, caption))
    out = io.BytesIO()
    frames = seconds * FPS
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, FPS)
        # crf 18 keeps the first frame close to the input (PSNR well above 30 dB).
        stream.options = {"preset": "ultrafast", "crf": "18"}
        tone = _Tone(container, seconds) if sound else None
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
        for i in range(frames):
            # A new zoom step every STEP frames, cropped on whole pixels and scaled by swscale straight
            # into the encoder's yuv420p: a third of the cost of PIL resizing plus a conversion per frame,
            # and the push moves the edges by well under a pixel per frame, so nobody sees the steps.
            if i % STEP == 0 and i > 0:
                zoom = 1.0 + (ZOOM_END - 1.0) * (i / max(1, frames - 1))
                w, h = 2 * round(width / zoom / 2), 2 * round(height / zoom / 2)
                x, y = (width - w) // 2, (height - h) // 2
                crop = np.ascontiguousarray(pixels[y : y + h, x : x + w])
                frame = av.VideoFrame.from_ndarray(crop, format="rgb24").reformat(
                    width=width, height=height, format="yuv420p", interpolation="BILINEAR"
                )
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
            if tone is not None and i % FPS == 0:
                tone.until((i + FPS) / FPS)  # a second of sound ahead of the picture, once a second
        for packet in stream.encode():
            container.mux(packet)
        if tone is not None:
            tone.finish()
    return out.getvalue()


_Key = tuple[str, int, Size, bool]


class VideoCache:
    """Encoded results by (first frame, seconds, size, sound); small LRU, one encode per key at a time.

    The first frame is the sha256 of the input image, or of the caption of a drawn frame.
    """

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = capacity
        self._items: OrderedDict[_Key, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[_Key, threading.Lock] = {}
        self.encodes = 0

    def get(
        self,
        image_bytes: bytes | None,
        seconds: int,
        size: Size = (WIDTH, HEIGHT),
        caption: str | None = None,
        *,
        sound: bool = False,
    ) -> bytes:
        """The MP4 for these, encoded on the first ask (one encode per key at a time)."""
        if image_bytes is not None:
            frame = "image:" + hashlib.sha256(image_bytes).hexdigest()
        else:
            frame = "drawn:" + hashlib.sha256((caption or "").encode()).hexdigest()
        key = (frame, seconds, size, sound)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            data = encode(image_bytes, seconds, size, caption, sound=sound)
            with self._lock:
                self.encodes += 1
                self._items[key] = data
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
                self._key_locks.pop(key, None)
            return data
