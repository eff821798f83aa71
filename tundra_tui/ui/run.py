"""Running the screen on a real terminal: early signals, and a terminal that may vanish under it.

When the terminal goes away (a closed pty, a killed tmux), a write to it fails. Textual's output
thread dies on that error; the next frames then fill its queue and the app's own shutdown blocks on
it for good. So the driver's output is wrapped: the first failed write marks the terminal gone,
every later write is dropped, and the process gets the hang-up it would have had (SIGHUP), so the
screen ends the way a hang-up ends it (recording closed with its trailer, exit 129).
"""

from __future__ import annotations

import os
import signal
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


def run_app(session: Session, config: Config, theme: str | None = None, refresh: float | None = None,
            notices: list[str] | None = None) -> int:
    """Run the TUI until the user quits (or a signal ends it); return the exit status."""
    app = TundraApp(session, config, theme=theme, refresh=refresh, notices=notices)
    app.driver_class = hangup_safe(app.driver_class)

    def early(sig: int, frame: object) -> None:
        app.early_signals.append(sig)  # kept for on_mount, which ends the app the same way

    for sig in (signal.SIGTERM, signal.SIGHUP):  # until the app's own handlers take over at mount
        signal.signal(sig, early)
    result = app.run()
    return app.return_code or int(result or 0)  # Textual sets 1 after an internal error


