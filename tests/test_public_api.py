"""The public surface: every exported name importable and documented, no private name exported, old names kept.

As httpx's test_exported_members: each public package lists its names in `__all__`; each is
importable from there, every class and function among them has its own docstring (constants
and type aliases are exempt), and none of them is a private (`_`) name.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from typing import Any

import pytest

PUBLIC = [
    "apikley_kling",
    "apikley_kling.catalog",
    "apikley_kling.batch",
    "apikley_kling.ledger",
    "apikley_kling.callbacks",
    "apikley_kling.simulator",
    "apikley_kling.contract",
    "apikley_kling.pricing",
]


def _own_doc(name: str, obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("):
        return ""  # the signature a dataclass writes for itself is not documentation
    if inspect.isclass(obj) and obj.__doc__ is None:
        return ""  # inherited from a base: says nothing of this class
    return doc


def _exports(module_name: str) -> list[tuple[str, Any]]:
    module = importlib.import_module(module_name)
    names = list(module.__all__)
    assert names, module_name
    return [(name, getattr(module, name)) for name in names]


@pytest.mark.parametrize("module_name", PUBLIC)
def test_every_exported_name_is_importable_and_documented(module_name: str) -> None:
    undocumented = [
        name
        for name, obj in _exports(module_name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and not _own_doc(name, obj)
    ]
    assert undocumented == [], f"{module_name}: exported without a docstring: {undocumented}"


@pytest.mark.parametrize("module_name", PUBLIC)
def test_no_private_name_is_exported(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert [n for n in module.__all__ if n.startswith("_") and not n.endswith("__")] == []  # __version__ is public
    assert len(set(module.__all__)) == len(module.__all__)


def test_the_check_sees_an_undocumented_class_and_a_dataclass_signature() -> None:
    from dataclasses import dataclass

    class Bare:
        pass

    @dataclass
    class Data:
        x: int

    def documented() -> None:
        """Says what it does."""

    assert _own_doc("Bare", Bare) == "" and _own_doc("Data", Data) == ""
    assert _own_doc("documented", documented) == "Says what it does."


def test_the_simulators_task_is_simulated_task_and_the_old_name_warns() -> None:
    import apikley_kling
    import apikley_kling.simulator as sim

    assert "Task" not in sim.__all__ and "SimulatedTask" in sim.__all__
    assert sim.SimulatedTask is not apikley_kling.Task  # one meaning per name: the SDK's Task is the root's
    with pytest.warns(DeprecationWarning, match="SimulatedTask"):
        old = sim.Task
    assert old is sim.SimulatedTask


def test_the_sqlite_ledger_is_sqlite_ledger_and_the_old_name_warns() -> None:
    import apikley_kling.ledger as ledger

    assert "Ledger" not in ledger.__all__ and "SqliteLedger" in ledger.__all__
    with pytest.warns(DeprecationWarning, match="SqliteLedger"):
        from apikley_kling.ledger import Ledger
    assert Ledger is ledger.SqliteLedger


def test_both_signers_take_task_id_timestamp_key_and_agree() -> None:
    from apikley_kling import sign_callback
    from apikley_kling.simulator import sign

    assert list(inspect.signature(sign).parameters) == list(inspect.signature(sign_callback).parameters)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new order gives no warning
        assert sign("task_kling_1", 1765000000, "key") == sign_callback("task_kling_1", 1765000000, "key")
    with pytest.warns(DeprecationWarning, match="sign_callback"):
        old = sign("key", "task_kling_1", 1765000000)  # type: ignore[arg-type]
    assert old == sign_callback("task_kling_1", 1765000000, "key")
