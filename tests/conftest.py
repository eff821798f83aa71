"""Shared fixtures: real sockets, a real DogStatsd client, isolated config/data dirs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep tests away from the user's config and data dirs."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.delenv("TUNDRA_CONFIG", raising=False)
    for key in ("DD_API_KEY", "DD_APP_KEY", "DD_SITE"):
        monkeypatch.delenv(key, raising=False)
    return home


def run_cli(*args: str, timeout: float = 60, env: dict[str, str] | None = None,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `tundra` in a subprocess, as a user would."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "tundra_tui", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=ROOT, input=input)


# Fuzz budgets: `everyday` keeps `uv run pytest` fast; .ci/run adds a `thorough` pass over the fuzz and
# soak tests. No deadline: a loaded machine must not turn a slow example into a failure.
settings.register_profile("everyday", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile("everyday")  # `--hypothesis-profile=thorough` overrides it


def _svg_snapshots() -> None:
    """pytest-textual-snapshot 1.0 names its extension with syrupy<5's attribute; syrupy 7 reads
    `file_extension`, so without this the SVGs would be saved as `.raw`."""
    import pytest_textual_snapshot

    pytest_textual_snapshot.SVGImageExtension.file_extension = "svg"


_svg_snapshots()
