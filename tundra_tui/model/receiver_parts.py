"""How the tap's receiver processes have fared: one part for the dashboard's `tap`, `stats --json` and the
source's status (docs/json.md: `receiver`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .parts import Part


@dataclass(frozen=True, slots=True)
class ReceiverHealth(Part):
    """Receivers that exited on their own: how the last one ended, how many were started again, how many
    listeners were left without one. False while none has exited (the JSON then leaves it out)."""

    last_exit: str | None = None  # how the last receiver that exited on its own ended ("killed by SIGKILL")
    restarts: int = 0  # receivers started again after exiting on their own
    down: int = 0  # listeners whose receiver exited and was not restarted: nothing more arrives there

    def __bool__(self) -> bool:
        return bool(self.last_exit or self.restarts or self.down)

    def words(self, *, forward: str | None = None, lost: int = 0) -> ReceiverWords | None:
        """What every screen and command says of it (None while none has exited): the status bar's and `record`'s
        progress line's words, the status bar's short form and colour, and a command's closing sentence (saying
        what is no longer received, nor forwarded to `forward`, and the `lost` datagrams it held)."""
        if not (self.down or self.restarts):
            return None
        how = f" ({self.last_exit})" if self.last_exit else ""  # how it ended may be unknown: no "(None)"
        times = f"{self.restarts:,} time{'s' if self.restarts > 1 else ''}"
        held = f"; {lost:,} datagrams it held were lost" if lost else ""
        if self.down:  # down says most, whatever restarts came before: nothing more arrives
            fwd = f" or forwarded to {forward}" if forward else ""
            return ReceiverWords(f"receiver exited{how}", "receiver ✗", "alarm",
                                 f"the receiver process exited{how} and was not restarted: nothing more was "
                                 f"received{fwd}{held}")
        return ReceiverWords(f"receiver restarted {times}{how}", f"restarts {self.restarts:,}", "warn",
                             f"the receiver process exited{how} and was restarted {times}{held}")


class ReceiverWords(NamedTuple):
    """The words for a receiver that exited, in each length a reader has room for."""

    full: str  # a status line's: `receiver exited (killed by SIGKILL)`, `receiver restarted 2 times (...)`
    short: str  # where that does not fit: `receiver ✗`, `restarts 2`
    level: str  # the theme colour it is drawn in: "alarm" (nothing more arrives) or "warn" (started again)
    closing: str  # a command's closing sentence: what stopped, and what was lost with it


HEALTHY = ReceiverHealth()  # none has exited: every source's default
