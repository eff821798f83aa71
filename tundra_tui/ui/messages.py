"""Messages the app posts about itself (tests watch them with `message_hook`)."""

from __future__ import annotations

from textual.message import Message

from ..model.snapshot import Frame


class FrameReady(Message):
    """A frame built off the UI thread, for the panes to draw. Bursty: a newer one replaces an unprocessed older
    one."""

    def __init__(self, frame: Frame, seq: int) -> None:
        super().__init__()
        self.frame = frame
        self.seq = seq  # frames are built in threads: a later request may finish first

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FrameReady) and message.seq < self.seq


class SettingChanged(Message):
    """A user-visible setting changed: name and new value (pause, group, sort, refresh, filter, ...)."""

    def __init__(self, name: str, value: object) -> None:
        super().__init__()
        self.name = name
        self.value = value


class RowChosen(Message):
    """Enter on a pane's row: the grouping and the row's key, for the detail screen."""

    def __init__(self, group: str, key: str) -> None:
        super().__init__()
        self.group = group
        self.key = key


class SeekAsked(Message):
    """A click on the replay timeline: the capture time (ns) under the pointer."""

    def __init__(self, ts_ns: int) -> None:
        super().__init__()
        self.ts_ns = ts_ns
