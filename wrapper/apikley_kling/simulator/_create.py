"""createTask after its body passed the model's schema: fetch the input files, charge, record the task.

Every model of the catalog goes through the same steps; what differs (which
fields are files, how long and what shape the video is, where its first frame
comes from) is read from the model's fields by `clip`.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apikley_kling.catalog import FileRule, Model
from apikley_kling.uploads import load_file, sniff_type

from ._clip import clip_of, file_values
from ._config import Money, Timings
from ._faults import Fault
from ._files import Files
from ._state import INFINITY, SimulatedTask, StoredFile
from ._validation import Refused


@dataclass
class Due:
    task_id: str
    mode: str
    delay: float


def file_problem(where: str, stored: StoredFile, data: bytes, rule: FileRule) -> str | None:
    """Why a stored file does not suit a field (its spec's types and size, the type read from the bytes), or None."""
    if rule.max_bytes is not None and len(data) > rule.max_bytes:
        return f"{where}: larger than {rule.max_bytes} bytes"
    try:
        # The SDK's own check: the same sniffer and the same aliases of type names.
        load_file(data, rule.accepted_types, None, file_name=stored.name)
    except ValueError:
        mime = sniff_type(data[:16]) or stored.mime
        return f"{where}: unsupported type {mime} (accepted: {', '.join(rule.accepted_types)})"
    return None


class Creates(Files):
    external_images: str
    timings: Timings
    money: Money
    _balances: dict[str, float]
    _due: list[tuple[float, int, Due]]
    _seq: int
    _id_seq: int

    def _fetch_files(self, model: Model, given: Mapping[str, Any]) -> dict[str, bytes]:
        """The bytes of every input file this simulator stores, by URL; Refused 422 for one it cannot use."""
        fetched: dict[str, bytes] = {}
        for where, url, rule in file_values(model, given):
            own = self.own_file(url)
            if own is None:
                if self.external_images == "reject":
                    raise Refused(422, f"{where}: cannot fetch (not a file this simulator serves, or expired)")
                continue
            data = self._stored_bytes(own)
            problem = file_problem(where, own, data, rule)
            if problem is not None:
                raise Refused(422, problem)
            fetched[url] = data
        return fetched

    def create_task(self, key: str, model: Model, body: dict[str, Any], fault: Fault | None = None) -> str:
        """Record and charge a task for `key` from a create `body` that passed `model`'s schema; its task id.

        Refused 422 for an input file it cannot use, 402 when the key's credits do not cover it. `fault`
        (kinds `stuck` and `fail`) shapes how the task ends."""
        given: dict[str, Any] = body.get("input") or {}
        clip = clip_of(model, given)
        fetched = self._fetch_files(model, given)
        image = fetched.get(clip.frame_url) if clip.frame_url is not None else None
        cost = self.money.cost(model, given, clip.seconds)
        param = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        timings = self.timings
        with self._lock:
            balance = self._balances.get(key, self.money.credits)
            if balance < cost:
                raise Refused(402, f"Insufficient credits: {cost:g} needed, {balance:g} left")
            self._balances[key] = balance - cost
            now = self.clock.time()
            self._prune(now)
            task = SimulatedTask(
                task_id=self._new_task_id(now),
                api_key=key,
                model=model.id,
                param=param,
                image=image,
                duration=clip.seconds,
                callback_url=body.get("callBackUrl"),
                created=now,
                queued_at=now + timings.waiting,
                generating_at=now + timings.waiting + timings.queuing,
                done_at=INFINITY,
                outcome="success",
                size=clip.size,
                # Words only on a frame the simulator draws for want of any image URL.
                caption=clip.caption if clip.frame_url is None else None,
                sound=clip.sound,
            )
            self._settle(task, fault)
            self._tasks[task.task_id] = task
            self.counters.tasks_created[key] += 1
            self.counters.credits_spent[key] += cost
            self._schedule_callback(task)
        return task.task_id

    def _settle(self, task: SimulatedTask, fault: Fault | None) -> None:
        """When and how the task ends, and (on success) the result file it will serve."""
        gen = self.timings.generation
        done = task.generating_at + (gen(task.duration, self._rng) if callable(gen) else gen)
        if fault is not None and fault.kind == "stuck":
            done = INFINITY
        elif (fault is not None and fault.kind == "fail") or (
            self.timings.fail_probability and self._rng.random() < self.timings.fail_probability
        ):
            task.outcome = "fail"
            task.fail_code = fault.fail_code if fault else "500"
            task.fail_msg = fault.fail_msg if fault else "Internal server error"
        task.done_at = done
        if task.outcome != "success" or done == INFINITY:
            return
        result = StoredFile(
            file_id=self._new_id(),
            name=f"{task.task_id}.mp4",
            path=f"results/{task.task_id}.mp4",
            mime="video/mp4",
            data=None,
            created=done,
            expires=done + self.limits.result_ttl if self.limits.result_ttl is not None else INFINITY,
            task_id=task.task_id,
            api_key=task.api_key,
        )
        self._files[result.file_id] = result
        task.result_file_id = result.file_id

    def _schedule_callback(self, task: SimulatedTask) -> None:
        mode, hold = self.timings.callback_mode, self.timings.callback_delay
        if not task.callback_url or task.done_at == INFINITY or mode == "never":
            return
        delay = 0.0
        if mode == "late":
            delay = hold
        elif mode == "out_of_order" and hold:
            # A random hold lets a later task's callback overtake an earlier one's.
            delay = self._rng.uniform(0.0, hold)
        self._seq += 1
        heapq.heappush(self._due, (task.done_at + delay, self._seq, Due(task.task_id, mode, delay)))

    def _new_task_id(self, now: float) -> str:
        """The provider's shape (task_kling_<ms>); tasks created in the same millisecond get a growing suffix,
        so ids stay unique however many are made while the clock stands still."""
        base = f"task_kling_{int(now * 1000)}"
        task_id = base
        while task_id in self._tasks:
            self._id_seq += 1
            task_id = f"{base}{self._id_seq:03d}"
        return task_id
