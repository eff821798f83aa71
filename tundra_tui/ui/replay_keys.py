"""The monitor's replay actions: step, seek (keys and timeline clicks), jump and speed, all through the
session's ReplayController."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .messages import SeekAsked

if TYPE_CHECKING:
    from ..replay_control import ReplayController


class ReplayKeys:
    """Mixed into the app: its replay controller (None when live) and how it announces a change."""

    replay: ReplayController | None

    def _changed(self, name: str, value: object, note: str | None = None) -> None:
        raise NotImplementedError

    def action_step(self, seconds: int) -> None:
        if self.replay is not None:
            self.replay.step(seconds)
            self._changed("position", self.replay.position_ns)

    def action_seek(self, seconds: int) -> None:
        if self.replay is not None:
            self.replay.seek_by(seconds)
            self._changed("position", self.replay.position_ns)

    def action_jump(self, where: str) -> None:
        if self.replay is not None:
            self.replay.jump(where)
            self._changed("position", self.replay.position_ns)

    def on_seek_asked(self, message: SeekAsked) -> None:
        """A click on the timeline: seek to the capture time under it."""
        if self.replay is not None:
            self.replay.seek(message.ts_ns)
            self._changed("position", self.replay.position_ns)

    def action_speed(self, factor: float) -> None:
        if self.replay is not None:
            speed = self.replay.scale_speed(factor)
            self._changed("speed", speed, f"speed {speed:g}x")
