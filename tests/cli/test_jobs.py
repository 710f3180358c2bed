"""Job files are checked whole, before anything is sent, with line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apikley_kling._jobs import JobFileError, read_jobs, sniff_image_type
from apikley_kling._spec import create_limits

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _write(tmp_path: Path, lines: list[object]) -> Path:
    p = tmp_path / "jobs.jsonl"
    p.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return p


def test_good_file_with_relative_image_and_duplicates(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    p = _write(
        tmp_path,
        [
            "# a comment",
            {"prompt": "one", "image": "a.png"},
            "",
            {"prompt": "one", "image": "a.png"},
            {"prompt": "two", "image": "https://example.com/x.png", "duration": 10, "cfg_scale": 0.3},
        ],
    )
    jobs = read_jobs(p)
    assert [j.line for j in jobs] == [2, 4, 5]
    assert jobs[0].image == str(tmp_path / "a.png")
    # identical lines are two jobs with distinct, stable keys
    assert jobs[0].key != jobs[1].key and jobs[1].key.startswith(jobs[0].key)
    assert [j.key for j in read_jobs(p)] == [j.key for j in jobs]
    assert jobs[2].duration == "10" and jobs[2].image_is_url
    assert jobs[2].create_options() == {"prompt": "two", "duration": 10, "cfg_scale": 0.3}


def test_key_follows_image_content_not_location(tmp_path: Path) -> None:
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "a.png").write_bytes(PNG)
        _write(tmp_path / d, [{"prompt": "p", "image": "a.png"}])
    kx = read_jobs(tmp_path / "x" / "jobs.jsonl")[0].key
    assert kx == read_jobs(tmp_path / "y" / "jobs.jsonl")[0].key
    (tmp_path / "y" / "a.png").write_bytes(PNG + b"changed")
    assert kx != read_jobs(tmp_path / "y" / "jobs.jsonl")[0].key


def test_every_bad_line_is_reported(tmp_path: Path) -> None:
    lim = create_limits()
    (tmp_path / "a.png").write_bytes(PNG)
    (tmp_path / "big.png").write_bytes(PNG + b"\0" * lim.image_max_bytes)
    (tmp_path / "fake.png").write_bytes(b"GIF89a....")
    p = _write(
        tmp_path,
        [
            {"prompt": "ok", "image": "a.png"},
            "{not json",
            [1, 2],
            {"prompt": "x" * (lim.prompt_max + 1), "image": "a.png"},
            {"prompt": "p", "image": "missing.png"},
            {"prompt": "p", "image": "big.png"},
            {"prompt": "p", "image": "fake.png"},
            {"prompt": "p", "image": "a.png", "duration": "7"},
            {"prompt": "p", "image": "a.png", "cfg_scale": 1.5},
            {"prompt": "p", "image": "a.png", "colour": "red"},
            {"prompt": "p", "image": "a.png", "output": "../escape.mp4"},
            {"image": "a.png"},
        ],
    )
    with pytest.raises(JobFileError) as info:
        read_jobs(p)
    by_line = {e.line: e.message for e in info.value.errors}
    assert sorted(by_line) == list(range(2, 13))
    assert "JSON" in by_line[2]
    assert "object" in by_line[3]
    assert str(lim.prompt_max) in by_line[4]
    assert "not found" in by_line[5]
    assert "limit" in by_line[6]
    assert "not jpeg" in by_line[7]
    assert "duration" in by_line[8]
    assert "cfg_scale" in by_line[9]
    assert "colour" in by_line[10]
    assert "output" in by_line[11]
    assert "prompt" in by_line[12]


def test_duplicate_outputs_and_empty_file(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    p = _write(
        tmp_path,
        [{"prompt": "a", "image": "a.png", "output": "o.mp4"}, {"prompt": "b", "image": "a.png", "output": "o.mp4"}],
    )
    with pytest.raises(JobFileError, match=r"line 2: output o\.mp4 is also used on line 1"):
        read_jobs(p)
    with pytest.raises(JobFileError, match="no jobs"):
        read_jobs(_write(tmp_path, ["# nothing"]))
    with pytest.raises(JobFileError, match="not found"):
        read_jobs(tmp_path / "absent.jsonl")


def test_sniff() -> None:
    assert sniff_image_type(PNG) == "image/png"
    assert sniff_image_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_image_type(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff_image_type(b"GIF89a") is None
