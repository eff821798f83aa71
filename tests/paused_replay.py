"""A replay session paused at the end of its capture, fully indexed: for tests that seek in it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tundra_tui.model import Engine
from tundra_tui.replay_control import ReplayController
from tundra_tui.session import Session
from tundra_tui.sources import Replay


@contextmanager
def paused_at_end(cap: Path, spill_dir: Path, engine: Engine) -> Iterator[tuple[Session, Replay, ReplayController]]:
    """Play `cap` at 1x, pause, jump to its end (asked maybe before the index gets there: it lands when it
    can) and wait until it has landed with the whole capture indexed; stopped on leaving."""
    session = Session(Replay(cap, speed=1.0, spill_dir=spill_dir), engine)
    session.start()
    try:
        rp, ctl = session.replay, session.replay_control
        assert rp is not None and ctl is not None
        rp.set_paused(True)
        ctl.jump("end")
        assert ctl.settle(30) and rp.indexed
        yield session, rp, ctl
    finally:
        session.stop()


def checkpoints_built() -> None:
    """Wait for the prescan to have built every checkpoint (seeks then restore them)."""
    for t in threading.enumerate():
        if t.name == "tundra-prescan":
            t.join()
