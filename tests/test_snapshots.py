"""SVG snapshots (stored in snapshots/) with deterministic data and frozen clocks."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion

from tundra_tui.ui.app import TundraApp
from tundra_tui.ui.screens.detail import DetailScreen

from .ui_fixtures import make_app, module_tap, replay_session
from .waits import settle, wait_until


def drawn(*keys: str):
    """run_before for snap_compare: press `keys`, then wait until the frames they asked for are drawn
    (frames are built in thread workers)."""

    async def run(pilot) -> None:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return run


@pytest.fixture(autouse=True)
def lasting_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Notes (2 s on screen) stay up until the screenshot: on a busy machine the first of two `g` presses
    must not have faded before the picture is taken."""
    notify = TundraApp.notify

    def lasting(self: TundraApp, *args: Any, **kw: Any) -> Any:
        return notify(self, *args, **{**kw, "timeout": 600})

    monkeypatch.setattr(TundraApp, "notify", lasting)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    """One tap for the module's pictures: an app only reads it, and its clock is frozen."""
    yield from module_tap(tmp_path_factory, "live")



def test_wide_layout(snap_compare, live) -> None:
    assert snap_compare(make_app(live), terminal_size=(160, 40), run_before=drawn())


def test_help_screen(snap_compare, live) -> None:
    assert snap_compare(make_app(live), terminal_size=(80, 24), run_before=drawn("question_mark"))


def test_replay_timeline(snap_compare) -> None:
    session = replay_session(speed=1.0)
    rp = session.replay
    rp.set_paused(True)
    session.replay_control.seek(rp.start_ns + 40 * 10**9)
    assert session.replay_control.settle(10)
    wait_until(lambda: session.replay_control.timeline().errors is not None, "the error marks scanned")
    try:
        assert snap_compare(make_app(session), terminal_size=(80, 24), run_before=drawn())
    finally:
        session.stop()


def test_ansi_theme(snap_compare, live) -> None:
    assert snap_compare(make_app(live, theme="tundra-ansi"), terminal_size=(80, 24), run_before=drawn())


def test_light_theme_grouped_by_provider(snap_compare, live) -> None:
    assert snap_compare(make_app(live, theme="tundra-light"), terminal_size=(100, 30), run_before=drawn("g"))


GROUPING_SIZES = [(80, 24), (60, 20), (200, 50)]
GROUPINGS = ["model", "provider", "agent", "profile"]


async def screenshot(pilot) -> str:  # type: ignore[no-untyped-def]
    """The screen as snap_compare exports it (textual's take_svg_screenshot), once the frames asked for are drawn."""
    app = pilot.app
    await app.workers.wait_for_complete()
    await pilot.pause()  # the frame, and the notes `g` put up
    return app.export_screenshot(title=app.title, simplify=True)


async def test_grouping_at_size(snapshot: SnapshotAssertion, live, subtests: pytest.Subtests) -> None:
    """Each grouping at each size, stored as test_grouping_at_size[<grouping>-size<i>].svg: one screen per size
    stepping through the groupings with `g` (the picture after k presses is the one a fresh screen shows after
    the same k presses, its notes included), each picture a subtest named like its file."""
    svg = snapshot.use_extension(SVGImageExtension)
    for i, size in enumerate(GROUPING_SIZES):
        app = make_app(live)
        async with app.run_test(size=size, notifications=True) as pilot:
            await pilot.pause()
            for presses, group in enumerate(GROUPINGS):
                if presses:
                    await pilot.press("g")
                name = f"{group}-size{i}"
                with subtests.test(name):
                    assert app.group == group
                    assert svg(name=name) == await screenshot(pilot)


def opened_detail(pane: str):
    """run_before: focus a pane, open its selected row's detail screen, and wait for its first frame."""

    async def run(pilot) -> None:
        app = pilot.app
        widget = app.query_one(pane)
        # the pane's rows come with the first frame (built in a worker): select only once they are drawn
        await settle(lambda: widget.selected_key() is not None, "the pane's first rows")
        widget.focus()
        await pilot.press("down")
        chosen = widget.selected_key()
        await pilot.press("enter")
        await settle(lambda: isinstance(app.screen, DetailScreen) and app.screen.part is not None,
                     "the detail screen's frame")
        assert (app.screen.group, app.screen.key) == chosen
        await app.workers.wait_for_complete()
        await pilot.pause()

    return run


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_detail_screen(snap_compare, played, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(played), terminal_size=size, run_before=opened_detail("#pane-2"))
