"""Running the screen on a real terminal: early signals, and a terminal that may vanish under it.

When the terminal goes away (a closed pty, a killed tmux), a write to it fails. Textual's output
thread dies on that error; the next frames then fill its queue and the app's own shutdown blocks on
it for good. So the driver's output is wrapped: the first failed write marks the terminal gone,
every later write is dropped, and the process gets the hang-up it would have had (SIGHUP), so the
screen ends the way a hang-up ends it (recording closed with its trailer, exit 129).

Textual's own shutdown can still stall after a hang-up (rarely, under load), and nobody is left to
press a key: so a hang-up also starts a watchdog. If the screen has not ended HANGUP_GRACE_S later,
it closes the session (the recording gets its trailer) and ends the process with 129 itself.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from textual.driver import Driver

from ..config import Config
from ..session import Session
from .app import TundraApp


class VanishingOutput:
    """A file for the driver's output thread: after the first failed write, writes are dropped."""

    def __init__(self, out: Any) -> None:
        self._out = out
        self.gone = False

    def write(self, text: str) -> int:
        """Write, or drop once the terminal is gone."""
        if not self.gone:
            try:
                return int(self._out.write(text))
            except OSError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        """Flush, or nothing once the terminal is gone."""
        if not self.gone:
            try:
                self._out.flush()
            except OSError:
                self._gone()

    def _gone(self) -> None:
        self.gone = True
        os.kill(os.getpid(), signal.SIGHUP)  # the screen's hang-up handler ends it (from any thread)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)  # fileno, isatty...


def hangup_safe(base: type[Driver]) -> type[Driver]:
    """`base` (the driver Textual picked) writing through a VanishingOutput."""

    class HangupSafeDriver(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            out = getattr(self, "_file", None)  # the driver's output (stderr), before its writer thread starts
            if out is not None:
                self._file = VanishingOutput(out)

    return HangupSafeDriver


HANGUP_GRACE_S = 10.0  # far beyond a normal shutdown (~0.1-3 s on a loaded machine)


def hangup_watchdog(session: Session, ended: threading.Event, grace: float) -> threading.Thread:
    """A daemon thread: unless `ended` is set within `grace` s, stop `session` and `os._exit(129)`."""

    def watch() -> None:
        if ended.wait(grace):
            return  # the screen ended: its caller stops the session as usual
        try:
            session.stop()  # the recording closed with its trailer before the process goes
        finally:
            os._exit(128 + signal.SIGHUP)

    thread = threading.Thread(target=watch, name="tundra-hangup-watchdog", daemon=True)
    thread.start()
    return thread


def run_app(session: Session, config: Config, theme: str | None = None, refresh: float | None = None,
            notices: list[str] | None = None) -> int:
    """Run the TUI until the user quits (or a signal ends it); return the exit status."""
    app = TundraApp(session, config, theme=theme, refresh=refresh, notices=notices)
    app.driver_class = hangup_safe(app.driver_class)

    def early(sig: int, frame: object) -> None:
        app.early_signals.append(sig)  # kept for on_mount, which ends the app the same way

    for sig in (signal.SIGTERM, signal.SIGHUP):  # until the app's own handlers take over at mount
        signal.signal(sig, early)
    ended = threading.Event()

    def watch() -> None:
        hangup_watchdog(session, ended, HANGUP_GRACE_S)

    app.on_hangup = watch
    try:
        result = app.run()
    finally:
        ended.set()
    return app.return_code or int(result or 0)  # Textual sets 1 after an internal error


