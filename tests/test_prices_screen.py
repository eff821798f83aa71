"""The screen never waits on the price helper: frames and keys go on while it answers nothing, and a model's
first price is drawn as soon as it comes, not at the next refresh (#17)."""

from __future__ import annotations

import os
import signal
import time

from datadog import DogStatsd

from tundra_tui.commands.replay import SAMPLE
from tundra_tui.config import Config
from tundra_tui.model import Engine
from tundra_tui.model.engine import Mode
from tundra_tui.services.prices import HelperPricer
from tundra_tui.session import Session
from tundra_tui.sources import Replay, Tap, parse_url
from tundra_tui.ui.app import TundraApp
from tundra_tui.ui.messages import FrameReady
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


async def test_the_first_live_model_and_its_price_are_drawn_when_they_come() -> None:
    """`top --demo`'s case: the screen is up (its first frame and the follow-up one drawn) before any model
    arrives. Each new model's datagram makes the screen draw it (the demo's first is an unpriced local one), and
    the helper's answer its price, with no refresh in between (it is an hour): none waits for the next tick."""
    helper = HelperPricer()
    session = Session(Tap([parse_url("udp://127.0.0.1:0")]), Engine(Mode.DASHBOARD, pricer=helper))
    drawn: list[int] = []

    def hook(message: object) -> None:
        if isinstance(message, FrameReady):
            drawn.append(message.seq)

    try:
        session.start()
        port = session.source.addresses[0].port  # type: ignore[attr-defined]
        app = TundraApp(session, Config(), refresh=3600.0, clock=time.time)
        async with app.run_test(size=(80, 24), message_hook=hook):
            tokens = app.query_one(TokensPane)
            await settle(lambda: len(drawn) >= 2, "the first frame and its follow-up")
            assert "gpt-4o" not in "\n".join(pane_lines(tokens))
            client = DogStatsd(host="127.0.0.1", port=port, disable_telemetry=True, disable_buffering=True,
                               origin_detection_enabled=False)
            client.increment("llm.tokens.input", 1000, tags=["model:llama-3.1-8b-instruct", "provider:Local"])
            await settle(lambda: "llama" in "\n".join(pane_lines(tokens)), "the first model drawn")
            client.increment("llm.tokens.input", 1000, tags=["model:gpt-4o", "provider:openai"])  # as the demo's
            await settle(lambda: "gpt-4o" in "\n".join(pane_lines(tokens)), "a second model drawn")
            await settle(lambda: "$" in "\n".join(pane_lines(tokens)).split("\n", 1)[1], "its price drawn")
            client.close_socket()
    finally:
        session.stop()
        helper.close()
