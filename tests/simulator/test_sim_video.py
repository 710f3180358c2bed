"""Result videos are real MP4s: right length and size, first frame = the input image."""

from __future__ import annotations

import io
import json

import av
import httpx
import numpy as np
import pytest
from apikley_kling.simulator import Simulator
from conftest import DEFAULT, create, picture, record, upload
from PIL import Image


def letterboxed(data: bytes, width: int = 1280, height: int = 720) -> np.ndarray:
    """The input fitted into 720p on black, written here independently of the simulator."""
    src = Image.open(io.BytesIO(data)).convert("RGB")
    scale = min(width / src.width, height / src.height)
    size = (round(src.width * scale), round(src.height * scale))
    canvas = Image.new("RGB", (width, height))
    canvas.paste(src.resize(size, Image.Resampling.BICUBIC), ((width - size[0]) // 2, (height - size[1]) // 2))
    return np.asarray(canvas, dtype=np.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("duration", DEFAULT.field("duration").choices or ())
def test_result_is_a_real_mp4_starting_on_the_input(sim: Simulator, client: httpx.Client, duration: str) -> None:
    image = picture(800, 600)  # 4:3, so the letterbox bars are part of the check
    task_id = create(client, upload(client, image), duration=duration)
    sim.advance(3600)
    url = json.loads(record(client, task_id)["resultJson"])["resultUrls"][0]
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(response.content)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
        assert stream.codec_context.name == "h264"
        assert container.duration is not None
        assert container.duration / 1_000_000 == pytest.approx(int(duration), abs=0.1)
        count, first, last = 0, None, None
        for frame in container.decode(stream):
            count += 1
            if first is None:
                first = frame.to_ndarray(format="rgb24").astype(np.float64)
            last = frame
    assert first is not None and last is not None
    assert count / int(duration) == pytest.approx(24, abs=0.5)
    reference = letterboxed(image)
    assert psnr(first, reference) > 30.0
    # The camera pushes in: by the end the picture has visibly moved.
    final = last.to_ndarray(format="rgb24").astype(np.float64)
    assert psnr(final, reference) < psnr(first, reference) - 3


def test_encoding_is_cached_by_image_and_duration(sim: Simulator, client: httpx.Client) -> None:
    image = picture(800, 600)  # the same as above: with the session cache, often no encode at all
    url = upload(client, image)
    first, second = create(client, url), create(client, url)
    sim.advance(3600)
    encodes = sim.video_cache.encodes
    a = sim.result_video(first)
    b = sim.result_video(second)
    assert a == b
    assert sim.video_cache.encodes - encodes <= 1
    assert sim.result_video(first) is a
