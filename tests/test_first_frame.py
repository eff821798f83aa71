"""What the first screen does not need starts after its first frame: the session's services (fleet, Agent probe,
a replay's checkpoints, the trace port's server, the demo) wait for the app to draw once."""

from __future__ import annotations

from tundra_tui.model import Engine
from tundra_tui.model.engine import Mode
from tundra_tui.session import Session
from tundra_tui.sources import Replay
from tundra_tui.ui.messages import FrameReady

from .ui_fixtures import SAMPLE, make_app


async def test_services_start_after_the_first_frame() -> None:
    session = Session(Replay(SAMPLE, speed=None), Engine(Mode.DASHBOARD))
    started: list[int] = []  # frames drawn when the hook ran
    drawn: list[int] = []
    session.after_start.append(lambda: started.append(len(drawn)))
    session.start(services=False)
    try:
        assert started == [] and session.replay_control is not None
        app = make_app(session)

        def hook(message: object) -> None:
            if isinstance(message, FrameReady):
                drawn.append(message.seq)

        async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
            for _ in range(200):  # each pause lets the app process what is queued (the frame, then the hook)
                if started:
                    break
                await pilot.pause()
            session.start_services()  # a second call (or the app's fallback timer) starts nothing twice
        assert started == [1]  # once, after the first frame reached the app
    finally:
        session.stop()


def test_headless_sessions_start_everything_at_once() -> None:
    session = Session(Replay(SAMPLE, speed=None), Engine(Mode.DASHBOARD))
    ran: list[bool] = []
    session.after_start.append(lambda: ran.append(True))
    session.start()
    session.stop()
    assert ran == [True]
    late = Session(Replay(SAMPLE, speed=None), Engine(Mode.DASHBOARD))
    late.start(services=False)
    late.stop()
    late.after_start.append(lambda: ran.append(False))
    late.start_services()  # after stop: nothing starts
    assert ran == [True]
