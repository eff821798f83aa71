"""A capture write given up on (stuck past the close's wait) holds datagrams that are neither recorded nor lost
yet: the JSON and the status bar say so, for the `.dog` capture as for its `.spans` sidecar."""

from __future__ import annotations

from pathlib import Path

from tundra_tui.sources.recorder import Recorder
from tundra_tui.ui.widgets.statusbar import StatusBar

from .test_queued import hang_on
from .test_ui_spans import _HangingRecorder, _spans_session
from .ui_fixtures import make_app, refreshed


class _Stuck(Recorder):
    """Gives up on its writer at once when closed."""

    def close(self, join_s: float = 0.05) -> None:
        super().close(join_s)


def _styled(text, part: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(s.style) for s in text.spans if text.plain[s.start : s.end] == part]


async def test_a_stuck_capture_write_is_shown_in_flight_until_it_returns(tmp_path: Path) -> None:
    session = _spans_session(tmp_path / "f.sock")
    feed = session.spans
    assert feed is not None
    at_third, go_on, hang = hang_on(b"c:1|c")
    rec = _Stuck(tmp_path / "s.dog", compress=False, transform=hang)
    rec._writer._flush_s = 0.0  # every write flushes: a and b are in the file when c hangs
    session.recorder = rec
    rec.put_many([(1, b"a:1|c"), (2, b"b:1|c"), (3, b"c:1|c"), (4, b"d:1|c")])
    span = feed.book.summary().recent[0]
    side = feed.recorder = _HangingRecorder(tmp_path / "s.dog.spans")
    for ts in (1, 2, 3):
        side.put([span], ts)
    assert at_third.wait(5) and side.there.wait(5)
    app = make_app(session)
    try:
        session.stop_recording()  # both given up on
        assert (rec.written, rec.in_flight, rec.dropped) == (2, 1, 1)
        status = session.status()
        assert (status.recorded, status.recorder_in_flight, status.spans_record_in_flight) == (2, 1, 2)
        doc = session.dashboard().to_json()
        assert doc["tap"]["record_in_flight"] == 1 and doc["spans"]["record_in_flight"] == 2
        async with app.run_test(size=(160, 30)) as pilot:
            await refreshed(app, pilot)
            bar = app.query_one(StatusBar)
            text = bar._last
            assert text is not None and "rec failed" in text.plain, text
            assert _styled(text, "rec in flight 1") == [bar.c("warn")], text.plain
            assert f"spans {feed.book.summary().llm} drop 1 in flight 2" in text.plain  # 3 was never begun
            assert _styled(text, " in flight 2") == [bar.c("warn")]
    finally:
        go_on.set()
        side.go_on.set()
    rec._thread.join(5)
    side._thread.join(5)
    try:
        status = session.status()
        assert (status.recorded, status.recorder_in_flight, status.spans_record_in_flight) == (3, 0, 0)
        doc = session.dashboard().to_json()
        assert "record_in_flight" not in doc["tap"] and doc["spans"]["record_in_flight"] == 0  # settled: in the file
    finally:
        session.stop()
