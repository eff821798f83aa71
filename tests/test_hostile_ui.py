"""The monitor under hostile text: markup typed into the filter, escapes and markup in what arrives."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Label

from tundra_tui.ui.widgets.pane import Pane

from .ui_fixtures import END_NS, live_session, make_app, pane_lines

HOSTILE = (b"llm.request.complete:1|c|#model:[/x]\x1b]2;EVIL\x07,provider:[bold]p\xe2\x80\xae\n"
           b"llm.request.duration:12|d|#model:[/x]\x1b]2;EVIL\x07,provider:[bold]p\xe2\x80\xae\n"
           b"_e{27,14}:\x1b]2;EVIL\x07 [/x] title \x1b[2J|text [redacted]\n"
           b"llm.tokens.input:NaN|c|#model:gpt-4o,provider:openai\n"
           b"llm.tokens.input:1e308:1e308|c|#model:gpt-4o,provider:openai")


async def test_markup_and_escapes_are_shown_as_text(tmp_path: Path) -> None:
    session = live_session(tmp_path / "s.sock")
    session.engine.feed([(END_NS, HOSTILE)])
    app = make_app(session)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("slash", *"[/x]", "enter")  # once a MarkupError that killed the monitor
            await pilot.pause()
            error = app.screen.query_one("#filter-error", Label)
            assert str(error.render()) == "'[/x]' is not key:value"
            await pilot.press("escape")
            text = ""
            for _ in range(100):  # frames are built off the UI thread: wait for one showing the hostile model
                await pilot.pause(0.05)
                text = "\n".join(line for pane in app.query(Pane) for line in pane_lines(pane))
                if "EVIL" in text:
                    break
            assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
            assert "[/x]\\x1b]2;EVIL\\x07" in text  # the hostile model, shown as what it is
            assert app.is_running
    finally:
        session.stop()
    assert session.engine.bad_values == 3 and session.internal_errors == 0


async def test_keys_queued_behind_quit_start_nothing(tmp_path: Path) -> None:
    """`q` then `t` (and other screens) before the app is gone: a clean exit, no worker started late."""
    session = live_session(tmp_path / "q.sock")
    app = make_app(session)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("q", "t", "question_mark", "slash", "r")
        assert app.return_code == 0 and getattr(app, "crash_report", None) is None  # set only by a crash
    finally:
        session.stop()
