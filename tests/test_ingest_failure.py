"""Our own bug in the ingest thread (here: the bulk decoder raising as it did on a datagram over 64 KiB) ends
every command with one line on stderr naming the crash report and exit 1, never an empty result and exit 0."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

import tundra_tui.capture.reader as reader
from tundra_tui.capture import CaptureWriter
from tundra_tui.commands import main
from tundra_tui.model.engine import Engine, Mode
from tundra_tui.session import Session
from tundra_tui.sources import ReplayOnce

T0 = 1_700_000_000 * 10**9


def _capture(path: Path, compress: bool = True) -> Path:
    w = CaptureWriter(path, compress=compress)
    for i in range(50):
        w.write(b"llm.tokens.input:%d|c|#model:m" % i, T0 + i * 1000)
    w.close()
    return path


def _decoder_bug(buf: bytes, at: int = 0) -> tuple[list[object], int]:
    raise struct.error("ushort format requires 0 <= number <= 65535")  # what literal.py raised before its fix


@pytest.mark.parametrize("argv", [["stats"], ["replay", "--once"], ["replay", "--once", "--json"]])
def test_an_ingest_crash_is_one_line_and_exit_1(argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """stats and replay --once: exit 1, the last stderr line says ingest stopped and where the report is."""
    path = _capture(tmp_path / "x.dog")
    monkeypatch.setattr(reader, "literal_runs", _decoder_bug)
    rc = main([argv[0], str(path), *argv[1:]])
    err = capsys.readouterr().err
    assert rc == 1
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "ingest stopped after an internal error; report saved to " in last
    report = Path(last.rsplit("report saved to ", 1)[1])
    assert report.is_file() and "struct.error" in report.read_text()


def test_a_failing_source_stops_ingest_and_says_so(tmp_path: Path) -> None:
    """A source that raises (its reader's public warning hook, here) ends the ingest thread without a traceback;
    the status tells the screen that nothing more will change."""
    def on_warning(msg: str) -> None:
        raise RuntimeError(f"warning hook broke on {msg!r}")

    path = _capture(tmp_path / "x.dog", compress=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a cut record: the reader warns from the ingest thread
    session = Session(ReplayOnce(path, on_warning=on_warning), Engine(Mode.STATS))
    session.start()
    assert session.wait(30)
    status = session.status()
    session.stop()
    assert status.internal_errors == 1 and status.ingest_stopped and status.internal_error_report
    assert "warning hook broke" in Path(status.internal_error_report).read_text()
    clean = Session(ReplayOnce(_capture(tmp_path / "y.dog")), Engine(Mode.STATS))
    clean.start()
    assert clean.wait(30)
    clean.stop()
    assert not clean.status().ingest_stopped and clean.status().internal_errors == 0


async def test_the_screen_says_ingest_stopped(tmp_path: Path) -> None:
    """The monitor does not sit on stale figures: a notice says ingest stopped and where the report is."""
    from .ui_fixtures import make_app, refreshed, toasts

    def on_warning(msg: str) -> None:
        raise RuntimeError("warning hook broke")

    path = _capture(tmp_path / "x.dog", compress=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    session = Session(ReplayOnce(path, on_warning=on_warning), Engine(Mode.DASHBOARD))
    session.start()
    assert session.wait(30)
    app = make_app(session)
    try:
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await refreshed(app, pilot)
            notes = " ".join(toasts(app))
            assert "ingest stopped after an internal error" in notes and "the figures no longer change" in notes
            assert str(session.internal_error_report) in notes.replace("\n", "")
    finally:
        session.stop()
