"""docs/json.md is the JSON contract: it matches the snapshot dataclasses, and real output matches it."""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from tundra_tui.commands.replay import SAMPLE
from tundra_tui.model import snapshot

from .conftest import ROOT, run_cli

DOC = ROOT / "docs" / "json.md"
ROOTS = {"dashboard": snapshot.Dashboard, "stats": snapshot.Stats}


def doc_objects(text: str) -> dict[str, list[tuple[str, str]]]:
    """`### Name` headings followed by a `| key | type | meaning |` table: name -> [(key, type)]."""
    objects: dict[str, list[tuple[str, str]]] = {}
    name = None
    for line in text.splitlines():
        heading = re.fullmatch(r"### (\w+)", line)
        if heading:
            name = heading.group(1)
            continue
        row = re.fullmatch(r"\| `(\w+)` \| ([^|]+(?:\|null)?) \|.*", line)
        if row and name is not None:
            objects.setdefault(name, []).append((row.group(1), row.group(2).strip()))
    return objects


OBJECTS = doc_objects(DOC.read_text())


def type_name(hint: Any) -> str:
    """A dataclass field's annotation in the doc's type grammar."""
    if hint is snapshot.SpanSummary:
        return "object"  # renders itself (model/spans.py); the doc describes it in prose
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if type(None) in args:
            rest = tuple(a for a in args if a is not type(None))
            inner = rest[0] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007
            return type_name(inner) + "|null"
        if set(args) == {int, float}:
            return "number"
    if typing.get_origin(hint) is tuple:
        return f"[{type_name(args[0])}]"
    if dataclasses.is_dataclass(hint):
        return hint.__name__
    if typing.get_origin(hint) is dict:
        return "object"
    return {int: "int", float: "number", str: "string", bool: "bool"}[hint]


def dataclasses_in(hint: Any) -> list[type]:
    """The dataclasses a field's annotation names, however nested (unions, tuples)."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return [hint]
    return [c for arg in typing.get_args(hint) for c in dataclasses_in(arg)]


def reachable(cls: type, seen: dict[str, type]) -> None:
    seen[cls.__name__] = cls
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not f.metadata.get("json", True) or hints[f.name] is snapshot.SpanSummary:
            continue
        for found in dataclasses_in(hints[f.name]):
            if found.__name__ not in seen:
                reachable(found, seen)


def test_the_doc_and_the_dataclasses_agree() -> None:
    classes: dict[str, type] = {}
    for root in ROOTS.values():
        reachable(root, classes)
    assert set(classes) == set(OBJECTS), "every documented object is a snapshot part, and back"
    for name, cls in classes.items():
        hints = typing.get_type_hints(cls)
        fields = [(f.name, type_name(hints[f.name]).removesuffix("|null") + "?" if f.metadata.get("omit_zero")
                   else type_name(hints[f.name]))
                  for f in dataclasses.fields(cls) if f.metadata.get("json", True)]
        assert fields == OBJECTS[name], name


def check(value: Any, typ: str, where: str) -> None:
    """Raise AssertionError where `value` is not of the documented type `typ`."""
    if typ.endswith("|null"):
        if value is None:
            return
        typ = typ.removesuffix("|null")
    if typ == "object":  # free-form (e.g. dd_agent.socket when an Agent holds the port)
        assert isinstance(value, dict), where
        return
    if typ.startswith("["):
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            check(item, typ[1:-1], f"{where}[{i}]")
    elif typ in OBJECTS:
        assert isinstance(value, dict), where
        keys = [(k, t.removesuffix("?")) for k, t in OBJECTS[typ] if not t.endswith("?") or k in value]
        assert list(value) == [k for k, _ in keys], f"{where}: keys"
        for key, sub in keys:
            check(value[key], sub, f"{where}.{key}")
    else:
        ok = {"int": lambda v: type(v) is int, "number": lambda v: type(v) in (int, float),
              "string": lambda v: type(v) is str, "bool": lambda v: type(v) is bool}[typ]
        assert ok(value), f"{where}: {value!r} is not {typ}"


def test_the_checker_refuses_what_the_doc_does_not_say() -> None:
    with pytest.raises(AssertionError):
        check({"metric": 0, "event": 0}, "ParseErrors", "errors")  # a key missing
    with pytest.raises(AssertionError):
        check({"metric": 0, "event": 0, "service_check": 1.5}, "ParseErrors", "errors")  # not an int
    with pytest.raises(AssertionError):
        check([None], "[string]", "tags")


@pytest.mark.parametrize("args, root", [
    (("replay", "--sample", "--once", "--json"), "dashboard"),
    (("top", "--demo", "--once", "--after", "1.5", "--json"), "dashboard"),
    (("stats", str(SAMPLE), "--json"), "stats"),
])
def test_real_output_matches_the_doc(args: tuple[str, ...], root: str, request: pytest.FixtureRequest) -> None:
    shared = {("replay", "--sample", "--once", "--json"): "sample_replay_json",
              ("top", "--demo", "--once", "--after", "1.5", "--json"): "demo_once_json"}  # made once (conftest)
    res = request.getfixturevalue(shared[args]) if args in shared else run_cli(*args)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    check(doc, ROOTS[root].__name__, root)
    if root == "dashboard":
        assert doc["models"] and doc["events"], "an empty run would validate nothing"
        assert doc["totals"]["pricing"] is False  # --once waits for the price helper
    else:
        assert doc["contexts"]


def test_docstrings_cite_the_doc_not_files_outside_the_repo() -> None:
    for path in Path(ROOT / "tundra_tui").rglob("*.py"):
        assert "telemetry.md" not in path.read_text(), path
