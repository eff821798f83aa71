"""The screen never waits on the price helper: frames and keys go on while it answers nothing, and a model's
first price is drawn as soon as it comes, not at the next refresh (#17)."""

from __future__ import annotations

import os
import signal

from tundra_tui.commands.replay import SAMPLE
from tundra_tui.config import Config
from tundra_tui.model import Engine
from tundra_tui.model.engine import Mode
from tundra_tui.services.prices import HelperPricer
from tundra_tui.session import Session
from tundra_tui.sources import Replay
from tundra_tui.ui.app import TundraApp
from tundra_tui.ui.widgets.tokens import TokensPane

from .ui_fixtures import FROZEN, pane_lines
from .waits import settle


async def test_a_stopped_helper_holds_up_no_frame_and_a_price_is_drawn_when_it_comes() -> None:
    """The helper is stopped (alive, holding its pipes, answering nothing). Each key asks a frame: were a UI
    callback or the frame's build under the session lock to wait on the helper, the frame would come only once
    the pricer gave the helper up (20 s) and answered in-process, and show prices, not "…". Once the helper goes
    on, its answer alone makes the screen draw: the refresh is an hour."""
    helper = HelperPricer()
    helper.prefetch()
    assert helper.settle(30)
    pid = helper.helper_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    session = Session(Replay(SAMPLE, speed=None), Engine(Mode.DASHBOARD, pricer=helper))
    try:
        session.start()
        session.wait(30)
        app = TundraApp(session, Config(), refresh=3600.0, clock=lambda: FROZEN)
        async with app.run_test(size=(80, 24)) as pilot:
            tokens = app.query_one(TokensPane)
            await settle(lambda: "…" in "\n".join(pane_lines(tokens)), "a model shown being priced")
            for key in ("s", "s", "g"):  # sort, sort again, group: each a new frame, built while nobody answers
                await pilot.press(key)
                await app.workers.wait_for_complete()
                await pilot.pause(0)
                shown = "\n".join(pane_lines(tokens))
                assert "…" in shown and "$" not in shown.split("\n", 1)[1], shown  # no price under the header
            assert session.lock.acquire(timeout=30)  # ingest is not held up either
            session.lock.release()
            os.kill(pid, signal.SIGCONT)
            await settle(lambda: "…" not in (text := "\n".join(pane_lines(tokens))) and "$" in text.split("\n", 1)[1],
                         "the prices drawn on the helper's answer")
    finally:
        session.stop()
        helper.close()
