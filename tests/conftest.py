"""Shared fixtures: real sockets, a real DogStatsd client, isolated config/data dirs."""

from __future__ import annotations

import os
import socket
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


def _clean_run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tundra ARGS` with default settings: its own config/data dirs, no keys, whatever the caller's env."""
    drop = {"TUNDRA_CONFIG", "DD_API_KEY", "DD_APP_KEY", "DD_SITE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    return subprocess.run([sys.executable, "-m", "tundra_tui", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=ROOT)


# Outputs several tests read: each run costs a start-up (and the demo a wait), so each is made once per session.
@pytest.fixture(scope="session")
def sample_replay_json(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """`tundra replay --sample --once --json` with default settings."""
    return _clean_run(tmp_path_factory.mktemp("sample-home"), "replay", "--sample", "--once", "--json")


@pytest.fixture(scope="session")
def demo_once_json(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """`tundra top --demo --once --after 1.5 --json` with default settings (the demo sends 20 requests/s),
    run while this process holds udp 127.0.0.1:8125 if it can: the demo must pick a free port of its own."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        holder.bind(("127.0.0.1", 8125))
    except OSError:
        pass  # someone (an Agent) already holds it: just as good
    try:
        return _clean_run(tmp_path_factory.mktemp("demo-home"), "top", "--demo", "--once", "--after", "1.5",
                          "--json")
    finally:
        holder.close()


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
