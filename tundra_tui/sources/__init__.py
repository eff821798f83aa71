"""Where packets come from: live tap and capture replay, behind one Source interface."""

from .base import Packet, PortBusy, Source, SourceError
from .replay import Replay, ReplayOnce
from .tap import Tap
from .urls import DEFAULT_LISTEN, Address, BadURL, parse_url

__all__ = ["DEFAULT_LISTEN", "Address", "BadURL", "Packet", "PortBusy", "Replay", "ReplayOnce", "Source", "SourceError",
           "Tap", "parse_url"]
