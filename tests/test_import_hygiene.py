"""Nothing below ui/ may load Textual or rich, even through a third-party package.

`lint-imports` (run by .ci/run, contracts in pyproject.toml) checks our own imports statically, those
inside functions included; it does not follow what an external package imports in turn, which only a
real import shows."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import tundra_tui

# What may render: the Textual app and the commands (their text report included).
_RENDERING = ("tundra_tui.ui", "tundra_tui.commands", "tundra_tui.__main__")


def _core_modules() -> list[str]:
    return [info.name for info in pkgutil.walk_packages(tundra_tui.__path__, "tundra_tui.")
            if not info.name.startswith(_RENDERING)]


def test_core_modules_exist() -> None:
    names = _core_modules()
    for layer in ("protocol", "capture", "model", "sources", "services"):
        assert any(n.startswith(f"tundra_tui.{layer}.") for n in names), layer


def test_core_loads_neither_textual_nor_rich() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {_core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "    for ui in ('textual', 'rich'):\n"
        "        assert ui not in sys.modules, (name, ui)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_the_command_line_starts_without_network_clients() -> None:
    """`tundra` (and every CLI test) starts in a fraction of a second: aiohttp, urllib3 and the Datadog
    client load when a trace port, a probe or the fleet starts, Textual when a screen opens."""
    heavy = ("aiohttp", "urllib3", "datadog_api_client", "textual", "genai_prices")
    code = f"import sys, tundra_tui.commands\nprint([m for m in {heavy!r} if m in sys.modules])\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
