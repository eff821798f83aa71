"""Deterministic sessions for Pilot and snapshot tests: the bundled sample (made by `tundra demo --seed 7`)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widget import Widget

from tundra_tui.capture import read_capture
from tundra_tui.commands.replay import SAMPLE
from tundra_tui.config import Config
from tundra_tui.model import Engine
from tundra_tui.model.engine import Mode
from tundra_tui.session import Session
from tundra_tui.sources import Address, Replay, Tap
from tundra_tui.ui.app import TundraApp

os.environ["TZ"] = "UTC"
time.tzset()
SAMPLE_PACKETS = read_capture(SAMPLE)
END_NS = SAMPLE_PACKETS[-1].timestamp
FROZEN = END_NS / 1e9


def live_session(sock: Path, feed: bool = True) -> Session:
    """A real tap on a unix socket, pre-fed with the demo sample, its clock frozen at the sample's end."""
    session = Session(Tap([Address("unix", str(sock), None)]), Engine(Mode.DASHBOARD), clock_ns=lambda: END_NS)
    session.start()
    if feed:
        session.engine.feed([(m.timestamp, m.payload) for m in SAMPLE_PACKETS])
    return session


def module_tap(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Session]:
    """For a module-scoped fixture: one `live_session` its screens only read. The socket path is relative, in
    the module's own directory: the status bar reads the same on every run, and runs never share a socket."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp(name))
        session = live_session(Path("dsd.sock"))
        yield session
        session.stop()


def replay_session(speed: float | None = None) -> Session:
    session = Session(Replay(SAMPLE, speed=speed), Engine(Mode.DASHBOARD))
    session.start()
    if speed is None:
        session.wait(30)
    return session


def toasts(app: TundraApp) -> list[str]:
    """The notifications on screen, as the user reads them (run the app with `run_test(notifications=True)`)."""
    return [toast.render().plain for toast in app.screen.query("Toast")]


def pane_lines(pane: Widget) -> list[str]:
    """A pane's lines as the user reads them (what the widget renders, row by row)."""
    return [pane.render_line(y).text for y in range(pane.size.height)]


async def refreshed(app: TundraApp, pilot: Pilot[int]) -> None:
    """Ask for a frame now; return once the worker has built it and the app has drawn it. The worker posts the
    frame before it completes, so it is queued ahead of the pause's own callback: no wait for an idle CPU."""
    app.tick()
    await app.workers.wait_for_complete()
    await pilot.pause(0)


def make_app(session: Session, theme: str | None = None) -> TundraApp:
    return TundraApp(session, Config(), theme=theme, refresh=10.0, clock=lambda: FROZEN)
