"""Messages the app posts about itself (tests watch them with `message_hook`)."""

from __future__ import annotations

from textual.message import Message


class ViewRefreshed(Message):
    """The panes were fed a new view. Bursty, so a newer one replaces an unprocessed older one."""

    def __init__(self, packets: int) -> None:
        super().__init__()
        self.packets = packets

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ViewRefreshed)


class SettingChanged(Message):
    """A user-visible setting changed: name and new value (pause, group, sort, refresh, filter, ...)."""

    def __init__(self, name: str, value: object) -> None:
        super().__init__()
        self.name = name
        self.value = value
