"""The `tundra top` / `tundra replay` app: six panes fed typed frames, built off the UI thread on a timer."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.theme import Theme
from textual.timer import Timer

from ..capture import CaptureError
from ..config import Config, fresh_capture_path, save_state
from ..model.alerts import error_levels
from ..model.grouping import GROUPS, SORTS
from ..model.snapshot import Frame
from ..session import Session
from .alerting import FiringNews
from .keys import help_rows
from .messages import FrameReady, RowChosen, SettingChanged
from .pane_keys import PaneKeys
from .replay_keys import ReplayKeys
from .screens.detail import DetailScreen, detail_wanted
from .screens.filter import FilterScreen
from .screens.fleet import FleetScreen
from .screens.help import HELP_TEXT, HelpScreen
from .screens.spans import SpansScreen
from .screens.themes import ThemePicker
from .themes import DEFAULT_THEME, load_themes, readable
from .widgets.errors import ErrorsPane
from .widgets.events import EventsPane
from .widgets.keybar import KeyBar
from .widgets.latency import LatencyPane
from .widgets.pane import Pane
from .widgets.profiles import ProfilesPane
from .widgets.statusbar import StatusBar
from .widgets.throughput import ThroughputPane
from .widgets.timeline import Timeline
from .widgets.tokens import TokensPane
from .widgets.too_small import TooSmall

REFRESH_STEPS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
PANES: tuple[type[Pane[Any]], ...] = (ProfilesPane, TokensPane, ThroughputPane, ErrorsPane, LatencyPane, EventsPane)
REPLAY_ACTIONS = {"step", "speed", "seek", "jump"}
WIDE_AT = 150


class TundraApp(ReplayKeys, PaneKeys, App[int]):
    """The live monitor. All state it shows comes from `Session.frame()`, built in a thread worker."""

    CSS_PATH = "app.tcss"
    TITLE = "tundra"
    ENABLE_COMMAND_PALETTE = False
    ESCAPE_TO_MINIMIZE = False  # esc runs `restore` (its rows back, app.maximized cleared), not a bare minimize
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("p,space", "pause", "Pause", id="pause"),
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        Binding("g", "group", "Group", id="group"),
        Binding("s", "sort", "Sort", id="sort"),
        Binding("r", "record", "Record", id="record"),
        Binding("t", "change_theme", "Theme", id="theme"),
        Binding("f", "fleet", "Fleet", id="fleet"),
        Binding("x", "spans", "Spans", id="spans"),
        Binding("plus,equals_sign", "refresh_rate(-1)", "Faster", key_display="+", id="faster", show=False),
        Binding("minus", "refresh_rate(1)", "Slower", key_display="-", id="slower", show=False),
        Binding("e", "bad_lines", "Bad lines", id="bad-lines", show=False),
        Binding("escape", "restore", "Restore", id="restore", show=False),
        *(Binding(str(i), f"pane({i})", f"Pane {i}", id=f"pane-{i}", show=False) for i in range(1, 7)),
        Binding("full_stop", "step(1)", "Step +1s", key_display=".", id="step-forward", show=False),
        Binding("comma", "step(-1)", "Step -1s", key_display=",", id="step-back", show=False),
        Binding("right_square_bracket", "speed(2)", "Faster replay", key_display="]", id="speed-up", show=False),
        Binding("left_square_bracket", "speed(0.5)", "Slower replay", key_display="[", id="speed-down",
                show=False),
        Binding("right", "seek(10)", "+10s", id="seek-forward", show=False),
        Binding("left", "seek(-10)", "-10s", id="seek-back", show=False),
        Binding("home", "jump('start')", "Start", id="jump-start", show=False),
        Binding("end", "jump('end')", "End", id="jump-end", show=False),
    ]

    def __init__(self, session: Session, config: Config | None = None, theme: str | None = None,
                 refresh: float | None = None, clock: Callable[[], float] = time.time,
                 notices: list[str] | None = None) -> None:
        self._ours: set[str] = set()  # the bundled and user themes (their domain colours are their own)
        self._readable: dict[str, Theme] = {}  # Textual's, with readable domain colours (get_theme asks early)
        super().__init__()
        self.notices = notices or []  # said on stderr before the screen took over: say them again inside
        self.quitting = False
        self.early_signals: list[int] = []  # SIGTERM/SIGHUP caught before the app could handle them
        self.on_hangup: Callable[[], None] | None = None  # run_app's bound on the shutdown a hang-up starts
        self.session = session
        self.replay = session.replay_control  # play, pause, seek and speed go through it alone
        self.config = config or Config()
        self.clock = clock
        self.refresh_s = refresh or self.config.refresh_s
        self.display_paused = False
        self.group = "model"
        self.sort = "requests"
        self._wanted_theme = theme or self.config.theme or DEFAULT_THEME
        self._timer: Timer | None = None
        self._told_record_error = False
        self._told_internal: object = False  # (told, ingest stopped) once told
        self._firings = FiringNews()
        self.set_keymap(self.config.keys)  # [keys]: binding id -> keys
        self.error_levels = error_levels(self.config.alerts)  # the panes' error-rate colours
        self._asked = self._drawn = 0  # frames asked for and the newest drawn
        fleet = session.fleet
        self.fleet_key_hint = fleet.settings.key_hint() if fleet is not None and fleet.settings.enabled else None
        self._theme_problems = self._set_theme()

    # -- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Container(id="panes"):
            for i, cls in enumerate(PANES, 1):
                yield cls(id=f"pane-{i}")
        yield TooSmall()
        if self.replay is not None:
            yield Timeline(id="timeline")
        yield StatusBar(self.clock, id="status")
        yield KeyBar(self.BINDINGS)

    def get_theme(self, theme_name: str) -> Theme | None:
        """Textual's own themes come with domain colours readable on them (ui/themes.py), made on first use."""
        theme = super().get_theme(theme_name)
        if theme is not None and theme.name not in self._ours and not theme.ansi:
            made = self._readable.get(theme.name)  # made once: Textual asks on every `current_theme`
            if made is None:
                made = self._readable[theme.name] = readable(theme)
            theme = made
        return theme

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """$ok/$warn/$alarm/$stale/$pane-border exist under every theme (Textual's ANSI ones take these)."""
        return {**super().get_theme_variable_defaults(), "ok": "green", "warn": "yellow", "alarm": "red",
                "stale": "grey50", "pane-border": "#7f7f7f"}

    def _set_theme(self) -> list[str]:
        """Register the bundled and user themes and pick the starting one, before the first CSS parse (a theme
        set once mounted parses every stylesheet again); what went wrong, to notify once mounted."""
        themes, problems = load_themes()
        self._ours = set(themes)
        for theme in themes.values():
            self.register_theme(theme)
        if self._wanted_theme in self.available_themes:
            self.theme = self._wanted_theme
        else:
            problems.append(f"theme '{self._wanted_theme}' not found; using {DEFAULT_THEME}")
            self.theme = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        return problems

    def on_mount(self) -> None:
        for problem in self._theme_problems:
            self.notify(problem, severity="warning", timeout=8, markup=False)
        for notice in self.notices:
            self.notify(notice, severity="warning", timeout=15, markup=False)
        self._start_timer()
        self.call_after_refresh(self.tick)  # after the first layout, so panes know their size
        self.session.on_first_sight(lambda: self.call_later(self.tick))  # a first model or price: drawn now
        self._stop_on_signals()

    def _stop_on_signals(self) -> None:
        """SIGTERM and SIGHUP (the terminal went away) quit like `q`: the terminal is restored, the recording
        closed with its trailer, and the exit status says which signal it was."""
        import asyncio
        import signal

        try:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self._signalled, sig)
        except (RuntimeError, NotImplementedError, ValueError):
            return  # not the main thread (tests), or a platform without it
        if self.early_signals:  # arrived while the screen was starting
            self._signalled(self.early_signals[0])

    def _signalled(self, sig: int) -> None:
        import os
        import signal

        self.quitting = True
        if sig == signal.SIGHUP:  # the terminal is gone: writes to it fail, and a writer stuck on them never
            devnull = os.open(os.devnull, os.O_RDWR)  # lets the app end, so its output goes nowhere instead
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.close(devnull)
            if self.on_hangup is not None:
                self.on_hangup()
        self.exit(128 + sig, return_code=128 + sig)

    async def action_quit(self) -> None:
        self.quitting = True  # keys still queued behind `q` (a quick `t`) must not start anything now
        await super().action_quit()

    def on_resize(self, event: events.Resize) -> None:
        panes = self.query_one("#panes")
        panes.set_class(event.size.width >= WIDE_AT, "wide")
        panes.display = not self.query_one(TooSmall).fit_to(event.size)
        self.query_one(KeyBar).display = panes.display  # the notice alone says what to do

    def _start_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(self.refresh_s, self.tick)

    # -- the tick ---------------------------------------------------------------------------
    def tick(self) -> None:
        """Ask for a frame: built in a thread (the session lock is never taken on the UI thread for it)."""
        if not self.is_running:  # a timer firing while the app shuts down: nothing left to draw on
            return
        self._asked += 1
        seq, group, sort = self._asked, self.group, self.sort
        detail = detail_wanted(self.screen, self.maximized_span())  # the detail screen's, or a maximised pane's
        if isinstance(self.screen, DetailScreen):  # its key's grouping (Profiles opens a profile in any grouping)
            group = self.screen.group
        self.run_worker(lambda: self.post_message(FrameReady(self.session.frame(group, sort, detail), seq)),
                        name="frame", group="frame", thread=True)

    def on_frame_ready(self, message: FrameReady) -> None:
        """Hand each widget the typed part it draws (a frame older than the one drawn is dropped)."""
        if message.seq <= self._drawn or not (self.is_running and self.screen_stack):  # older, or after the quit
            return
        self._drawn = message.seq
        frame = message.frame
        if isinstance(self.screen, FleetScreen):
            self.screen.show(frame.dashboard.fleet, frame.dashboard.models)
        elif isinstance(self.screen, SpansScreen):
            self.screen.show(frame.dashboard.spans, frame.status)
        if isinstance(self.screen, DetailScreen):  # it covers the dashboard, whose status bar (a layout refresh)
            self.screen.show(frame)  # would repaint it in full each frame: the dashboard catches up on return
        else:
            if not self.display_paused:
                for pane in self.query(Pane) if frame.grouping.group == self.group else ():  # not a detail's
                    pane.take(frame)
                if frame.timeline is not None:
                    self.query_one(Timeline).show(frame.timeline)
            self.query_one(StatusBar).show(frame.status, frame.dashboard, self.display_paused)
        self._tell(frame)
        if message.seq == 1:  # the first frame is on its way: now what it did not need, and soon what that brings
            self.call_after_refresh(self.session.start_services)
            asked = self._asked  # (demo traffic) rather than at the next refresh, unless a key did
            self.set_timer(0.5, lambda: None if self._asked != asked else self.tick())

    def _tell(self, frame: Frame) -> None:
        """Notify once of a failed recording and of an internal error."""
        st = frame.status
        if st.record_error and not self._told_record_error:
            self._told_record_error = True
            self.notify(st.record_error, severity="error", timeout=10, markup=False)
        self._firings.tell(self, frame.dashboard.alerts_log)
        if st.internal_errors and self._told_internal != (told := (True, st.ingest_stopped)):  # again if it stops
            self._told_internal = told
            what = "stopped after an internal error: the figures no longer change" if st.ingest_stopped else (
                "skipped a batch after an internal error")
            self.notify(f"tundra ingest {what}; report: {st.internal_error_report}",
                        severity="error", timeout=3600 if st.ingest_stopped else 15, markup=False)

    def _changed(self, name: str, value: object, note: str | None = None) -> None:
        self.post_message(SettingChanged(name, value))
        if note:
            self.notify(note, timeout=2, markup=False)  # notes name paths and filter terms
        self.tick()

    # -- actions ----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.quitting:
            return False
        if action in REPLAY_ACTIONS:
            return self.replay is not None
        return action not in ("record", "fleet") or self.replay is None

    def action_help(self) -> None:
        here = list(self.screen.BINDINGS) if isinstance(self.screen, DetailScreen) else []  # its keys first
        self.push_screen(HelpScreen(help_rows(self, [*here, *self.BINDINGS, *Pane.BINDINGS], HELP_TEXT)))

    def on_row_chosen(self, message: RowChosen) -> None:
        self.push_screen(DetailScreen(message.group, message.key), lambda _: self.tick())  # back: catch up
        self.call_after_refresh(self.tick)

    def action_fleet(self) -> None:
        self.push_screen(FleetScreen())
        self.call_after_refresh(self.tick)

    def action_spans(self) -> None:
        self.push_screen(SpansScreen())
        self.call_after_refresh(self.tick)

    def action_pause(self) -> None:
        if self.replay is not None:
            self._changed("replay_paused", self.replay.toggle_pause())
        else:
            self.display_paused = not self.display_paused
            self._changed("paused", self.display_paused)

    def action_group(self) -> None:
        self.group = GROUPS[(GROUPS.index(self.group) + 1) % len(GROUPS)]
        self._changed("group", self.group, f"group by {self.group}")

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._changed("sort", self.sort, f"sort by {self.sort}")

    def action_refresh_rate(self, direction: int) -> None:
        i = min(range(len(REFRESH_STEPS)), key=lambda k: abs(REFRESH_STEPS[k] - self.refresh_s))
        self.refresh_s = REFRESH_STEPS[max(0, min(len(REFRESH_STEPS) - 1, i + direction))]
        self._start_timer()
        self._changed("refresh", self.refresh_s, f"refresh every {self.refresh_s:g}s")

    def action_filter(self) -> None:
        def done(terms: frozenset[str] | None) -> None:
            if terms is None:
                return
            self.session.set_filter(terms)
            note = f"filter: {' '.join(sorted(terms))}" if terms else "filter cleared"
            if terms and self.replay is None:
                note += " (from now on)"
            self._changed("filter", terms, note)

        self.push_screen(FilterScreen(self.session.filter), done)

    def action_record(self) -> None:
        if self.session.recorder is not None:
            path = self.session.stop_recording()
            self._changed("recording", None, f"recording saved to {path}")
            return
        try:
            path = fresh_capture_path()
            self.session.start_recording(path)
        except (OSError, CaptureError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            self.notify(f"cannot record: {reason}", severity="error", markup=False)
            return
        self._changed("recording", str(path), f"recording to {path}")

    def action_change_theme(self) -> None:
        def picked(name: str | None) -> None:
            if name is None or name == self.theme:
                return
            self.theme = name
            problem = save_state(theme=name, over=self.config.theme)  # the config file itself is left alone
            self._changed("theme", name, f"theme {name}" + (f" (not remembered: {problem})" if problem else ""))

        self.push_screen(ThemePicker(list(self.available_themes), self.theme), picked)

    def action_bad_lines(self) -> None:
        bad = self.session.bad_lines(3)
        if not bad:
            self.notify("no parse errors", timeout=3)
            return
        text = "\n".join(line[:100] for line in bad)
        self.notify(text, title="last bad lines", severity="warning", timeout=10, markup=False)

    def _handle_exception(self, error: Exception) -> None:
        """Unhandled exception: write a scrubbed report, and leave one line instead of Textual's traceback.

        Textual has no public hook for this; it is its one route for an unhandled exception (textual is pinned
        below 9; tests/test_ui.py's crash test fails if the route moves). Its default prints a traceback with
        locals, and locals may hold keys. An exception with `__rich__` is shown by that alone (public `panic`)."""
        from rich.text import Text

        from ..crash import ShownError, write_report

        path = write_report(error, "tundra top/replay")
        self.crash_report = path
        line = Text(f"tundra hit an internal error ({type(error).__name__}); "
                    + (f"report saved to {path}" if path else "no report could be saved"))
        try:
            error.__rich__ = lambda: line  # type: ignore[attr-defined]
        except AttributeError:  # an exception that takes no attributes: show a stand-in carrying the line
            error = ShownError(line)
        super()._handle_exception(error)


__all__ = ["TundraApp"]
