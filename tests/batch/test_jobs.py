"""Job files are checked whole, per model, by the SDK's own check, before anything is sent, with line numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from apikley_kling import Model, load_models
from apikley_kling.batch import JobFileError, read_jobs

from ..catalog_values import breaking_value, stated_limits, valid_input

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
CATALOG = load_models()
DEFAULT = CATALOG[CATALOG.default]
IMAGE = DEFAULT.image_field
assert IMAGE is not None and IMAGE.file is not None and IMAGE.file.max_bytes is not None
TEXT = next(f for f in DEFAULT.fields if f.max_length is not None and f.file is None)  # the prompt
CHOICE = next(f for f in DEFAULT.fields if f.choices is not None)
NUMBER = next(f for f in DEFAULT.fields if f.type == "number" and f.maximum is not None)


def _write(tmp_path: Path, lines: list[object]) -> Path:
    p = tmp_path / "jobs.jsonl"
    p.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return p


def test_good_file_with_relative_image_and_duplicates(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    choice = CHOICE.choices[-1] if CHOICE.choices else None
    p = _write(
        tmp_path,
        [
            "# a comment",
            {"prompt": "one", "image": "a.png"},
            "",
            {"prompt": "one", "image": "a.png"},
            {"prompt": "two", "image": "https://example.com/x.png", CHOICE.name: choice, NUMBER.name: NUMBER.maximum},
        ],
    )
    jobs = read_jobs(p)
    assert [j.line for j in jobs] == [2, 4, 5]
    assert jobs[0].image == str(tmp_path / "a.png") and jobs[0].model == DEFAULT.id
    # identical lines are two jobs with distinct, stable keys
    assert jobs[0].key != jobs[1].key and jobs[1].key.startswith(jobs[0].key)
    assert [j.key for j in read_jobs(p)] == [j.key for j in jobs]
    assert jobs[2].local_files() == [] and jobs[0].local_files() == [tmp_path / "a.png"]
    assert dict(jobs[2].input) == {"prompt": "two", CHOICE.name: choice, NUMBER.name: NUMBER.maximum}
    assert jobs[2].image == "https://example.com/x.png" and jobs[2].summary == "two"


def test_keys_of_first_version_lines_are_unchanged(tmp_path: Path) -> None:
    """A ledger written by the first version (one model, these keys) must still match its lines:
    a changed key would create, and pay for, a finished job again. The keys below were computed
    by that version; a spec update that adds a field to the default model makes this fail."""
    (tmp_path / "a.png").write_bytes(PNG)
    url = "https://example.com/x.png"
    first = {"prompt": "two", "image": url, "duration": 10, "cfg_scale": 0.3, "negative_prompt": "blur"}
    p = _write(
        tmp_path,
        [
            {"prompt": "one", "image": url},
            {**first, "output": "a.mp4", "id": "x1", "callback_url": "https://cb.example/k"},
            {"prompt": "three", "image": "a.png", "cfg_scale": 1},
            {"prompt": "one", "image": url},
        ],
    )
    keys = [j.key for j in read_jobs(p)]
    assert keys == ["1517fa76777877b3b2fc", "f5966854a1d946546b10", "571a1bcd8841d0ffa117", "1517fa76777877b3b2fc-1"]
    # The image field under its own name is the same job as the `image` shortcut.
    same = _write(tmp_path, [{"prompt": "one", IMAGE.name: url}])
    assert read_jobs(same)[0].key == keys[0]


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
    assert IMAGE.file is not None and IMAGE.file.max_bytes is not None and TEXT.max_length is not None
    (tmp_path / "a.png").write_bytes(PNG)
    with (tmp_path / "big.png").open("wb") as big:
        big.write(PNG)
        big.truncate(IMAGE.file.max_bytes + 1)
    (tmp_path / "fake.png").write_bytes(b"GIF89a....")
    assert NUMBER.maximum is not None
    p = _write(
        tmp_path,
        [
            {"prompt": "ok", "image": "a.png"},
            "{not json",
            [1, 2],
            {"prompt": "x" * (TEXT.max_length + 1), "image": "a.png"},
            {"prompt": "p", "image": "missing.png"},
            {"prompt": "p", "image": "big.png"},
            {"prompt": "p", "image": "fake.png"},
            {"prompt": "p", "image": "a.png", CHOICE.name: "7"},
            {"prompt": "p", "image": "a.png", NUMBER.name: NUMBER.maximum + 0.5},
            {"prompt": "p", "image": "a.png", "colour": "red"},
            {"prompt": "p", "image": "a.png", "output": "../escape.mp4"},
            {"image": "a.png"},
            {"prompt": "p", "image": "a.png", "model": "no/such-model"},
            {"prompt": "p", "image": "a.png", "input": ["not", "an", "object"]},
            {"prompt": "p", "image": "a.png", "callback_url": "ftp://x"},
        ],
    )
    with pytest.raises(JobFileError) as info:
        read_jobs(p)
    by_line = {e.line: e.message for e in info.value.errors}
    assert sorted(by_line) == list(range(2, 16))
    assert "JSON" in by_line[2]
    assert "object" in by_line[3]
    assert str(TEXT.max_length) in by_line[4] and TEXT.name in by_line[4]
    assert "No such file" in by_line[5] and IMAGE.name in by_line[5]
    assert str(IMAGE.file.max_bytes) in by_line[6]
    assert "accepted types" in by_line[7]
    assert CHOICE.name in by_line[8]
    assert NUMBER.name in by_line[9]
    assert "colour" in by_line[10]
    assert "output" in by_line[11]
    assert "prompt" in by_line[12]
    assert "no/such-model" in by_line[13] and DEFAULT.id in by_line[13]
    assert "input" in by_line[14]
    assert "callback_url" in by_line[15]
    for n in (4, 5, 6, 7, 8, 9, 10, 12, 15):
        assert by_line[n].startswith(DEFAULT.id + ": "), by_line[n]  # the SDK's check names the model


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


MODELS = list(CATALOG.values())


def _relative(model: Model, values: dict[str, Any]) -> dict[str, Any]:
    """File fields as names relative to the job file's folder, the way people write them."""

    def name(v: Any) -> Any:
        return [Path(x).name for x in v] if isinstance(v, list) else Path(v).name

    return {k: name(v) if model.field(k).file else v for k, v in values.items()}


@pytest.mark.parametrize("model", MODELS, ids=[m.id for m in MODELS])
def test_lines_of_every_model(tmp_path: Path, model: Model) -> None:
    values = valid_input(model, tmp_path)
    relative = _relative(model, values)
    p = _write(tmp_path, [{"model": model.id, **relative}, {"model": model.id, "input": relative}])
    jobs = read_jobs(p)
    assert [j.model for j in jobs] == [model.id, model.id]
    assert dict(jobs[0].input) == values == dict(jobs[1].input)  # paths resolved against the job file's folder
    assert jobs[1].key == jobs[0].key + "-1"  # the same job either way (so the second is its copy)
    assert jobs[0].local_files() == [Path(x) for x in _flat(values, model)]


def _flat(values: dict[str, Any], model: Model) -> list[str]:
    found = [v for k, v in values.items() if model.field(k).file]
    return [x for v in found for x in (v if isinstance(v, list) else [v])]


LIMITS = [(m, f.name, lim) for m in MODELS for f in m.fields for lim in stated_limits(f)]


@pytest.mark.parametrize(("model", "name", "limit"), LIMITS, ids=[f"{m.id}:{n}:{x}" for m, n, x in LIMITS])
def test_each_limit_is_a_bad_line(tmp_path: Path, model: Model, name: str, limit: str) -> None:
    line = {"model": model.id, **valid_input(model, tmp_path), name: breaking_value(model.field(name), limit, tmp_path)}
    with pytest.raises(JobFileError) as info:
        read_jobs(_write(tmp_path, [{"model": model.id, **valid_input(model, tmp_path)}, line]))
    [error] = info.value.errors
    assert error.line == 2 and error.message.startswith(f"{model.id}: {name}")


def test_line_separators_inside_a_string_are_text_not_line_ends(tmp_path: Path) -> None:
    # U+2028, U+0085 (and a lone CR) are line ends to str.splitlines, never to a JSON-lines file
    prompt = "sea\u2028spray\x85foam\rend"
    p = tmp_path / "jobs.jsonl"
    line = json.dumps({"prompt": prompt, "image": "https://example.com/x.png"}, ensure_ascii=False)
    p.write_bytes((line + "\n" + line + "\r\n").encode())
    jobs = read_jobs(p)
    assert [j.line for j in jobs] == [1, 2] and jobs[0].input[TEXT.name] == prompt == jobs[1].input[TEXT.name]


def test_a_line_over_the_cap_is_an_error_naming_it_and_the_rest_are_still_read(tmp_path: Path) -> None:
    from apikley_kling.batch._jobs import MAX_LINE_BYTES

    good = json.dumps({"prompt": "p", "image": "https://example.com/x.png"})
    huge = json.dumps({"prompt": "x" * MAX_LINE_BYTES, "image": "https://example.com/x.png"})
    p = _write(tmp_path, [good, huge, "{not json", good])
    with pytest.raises(JobFileError) as info:
        read_jobs(p)
    by_line = {e.line: e.message for e in info.value.errors}
    assert sorted(by_line) == [2, 3] and str(MAX_LINE_BYTES) in by_line[2] and len(by_line[2]) < 100


@pytest.mark.parametrize("where", ["model", "image", "unknown field"])
def test_an_error_quotes_a_short_escaped_prefix_of_a_bad_value(tmp_path: Path, where: str) -> None:
    value = "\x1b]0;TITLE\x07\x1b[2J" + "A" * 500_000
    line: dict[str, Any] = {"prompt": "p", "image": "https://example.com/x.png"}
    if where == "unknown field":
        line[value] = 1
    else:
        line[where] = value
    with pytest.raises(JobFileError) as info:
        read_jobs(_write(tmp_path, [line]))
    [error] = info.value.errors
    assert "TITLE" in error.message and "A" * 50 in error.message and "A" * 81 not in error.message, error.message
    assert len(error.message) < 600 and "\x1b" not in error.message and "\x07" not in error.message


def test_jobs_are_yielded_as_the_file_is_read(tmp_path: Path) -> None:
    import tracemalloc

    from apikley_kling.batch import iter_jobs

    p = _write(tmp_path, [{"prompt": f"shot {i}", "image": "https://example.com/x.png"} for i in range(2000)])
    jobs = iter_jobs(p)
    assert next(jobs).line == 1  # the first job before the rest of the file is checked
    tracemalloc.start()
    try:
        for _ in jobs:
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # what is kept per line is its key (an int) and no Job: ~100 bytes a line, where a list of Jobs is ~2 kB
    assert peak < 2000 * 500, peak


def test_a_named_output_may_not_take_another_lines_default_name(tmp_path: Path) -> None:
    url = "https://example.com/x.png"
    first, second = {"prompt": "a", "image": url}, {"prompt": "b", "image": url}
    default_of_2 = read_jobs(_write(tmp_path, [first, second]))[1].output
    with pytest.raises(JobFileError, match=rf"line 2: output {default_of_2} is also used on line 1"):
        read_jobs(_write(tmp_path, [{**first, "output": default_of_2}, second]))
    default_of_1 = read_jobs(_write(tmp_path, [first, second]))[0].output
    with pytest.raises(JobFileError, match=rf"line 2: output {default_of_1.upper()} is also used on line 1"):
        read_jobs(_write(tmp_path, [first, {**second, "output": default_of_1.upper()}]))
