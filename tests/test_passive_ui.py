"""The status bar on a passive tap: it says "passive" and shows the Agent's socket drops, in alarm while they rise."""

from __future__ import annotations

import socket

from tundra_tui.model.engine import Engine, Mode
from tundra_tui.session import Session
from tundra_tui.sources import Tap, parse_url, procnet
from tundra_tui.ui.widgets.statusbar import StatusBar

from .ui_fixtures import make_app
from .waits import wait_until


def styled(bar: StatusBar, prefix: str) -> tuple[str, str]:
    """(the text starting with `prefix`, its style) in the bar's last line."""
    text = bar._last
    assert text is not None
    for span in text.spans:
        piece = text.plain[span.start : span.end]
        if piece.startswith(prefix):
            return piece, str(span.style)
    start = text.plain.index(prefix)  # unstyled: it is not a span of its own
    end = text.plain.find(" │", start)
    return text.plain[start : end if end >= 0 else None], ""


async def test_status_bar_passive_and_agent_drops() -> None:
    agent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    agent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # a stuck Agent: tiny buffer, never read
    agent.bind(("127.0.0.1", 0))
    port = agent.getsockname()[1]
    session = Session(Tap([parse_url(f"udp://127.0.0.1:{port}")]), Engine(Mode.DASHBOARD))
    session.start()
    try:
        app = make_app(session)
        async with app.run_test(size=(160, 24)) as pilot:
            bar = app.query_one(StatusBar)
            app.tick()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "passive" in bar._last.plain  # type: ignore[union-attr]
            assert styled(bar, "agent drop") == ("agent drop 0", "")  # nothing lost yet: no alarm
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for i in range(300):
                sender.sendto(b"m:%d|c" % i, ("127.0.0.1", port))
            sender.close()
            drops = wait_until(lambda: procnet.udp_sockets(port)[0].drops, "the stuck Agent dropping")
            wait_until(lambda: session.status().source.datagrams >= 300, "the tap seeing all 300")
            app.tick()
            await app.workers.wait_for_complete()
            await pilot.pause()
            piece, style = styled(bar, "agent drop")
            assert piece.startswith("agent drop ") and int(piece.split()[-1].replace(",", "")) >= drops
            assert style == bar.c("alarm")  # rising
            await pilot.press("q")
    finally:
        session.stop()
        agent.close()
