"""How the tap's receiver processes have fared: one part for the dashboard's `tap`, `stats --json` and the
source's status (docs/json.md: `receiver`)."""

from __future__ import annotations

from dataclasses import dataclass

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


HEALTHY = ReceiverHealth()  # none has exited: every source's default
