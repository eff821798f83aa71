"""Nothing below ui/ may import Textual: the headless commands and benchmarks run without it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import tundra_tui


def _core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(tundra_tui.__path__, "tundra_tui."):
        if info.name.startswith("tundra_tui.ui") or info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def test_core_modules_exist() -> None:
    names = _core_modules()
    for layer in ("protocol", "capture", "sources", "model"):
        assert any(n.startswith(f"tundra_tui.{layer}.") for n in names), layer


def test_no_textual_below_ui() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {_core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "    assert 'textual' not in sys.modules, name\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_lint_and_types_are_clean() -> None:
    """ruff and mypy (strict on the core) pass: the configured tooling is kept honest."""
    import shutil

    for cmd in (["ruff", "check", "."], ["mypy", "tundra_tui"]):
        exe = shutil.which(cmd[0])
        assert exe, f"{cmd[0]} is a dev dependency"
        out = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, timeout=240,
                             cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
