"""Listen/forward addresses: `udp://HOST:PORT` and `unix:///path` (datagram)."""

from __future__ import annotations

import ipaddress
from typing import NamedTuple
from urllib.parse import urlsplit

DEFAULT_LISTEN = "udp://127.0.0.1:8125"


class BadURL(ValueError):
    """An address tundra cannot use."""


class Address(NamedTuple):
    """A parsed address; `port` is None for unix sockets."""

    scheme: str  # "udp" | "unix"
    host: str  # host for udp, path for unix
    port: int | None

    def __str__(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.host}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"udp://{host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        """True for unix sockets and loopback IPs/localhost."""
        if self.scheme == "unix" or self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_url(url: str) -> Address:
    """Parse a listen/forward URL or raise BadURL with a one-line reason."""
    if "://" not in url:
        raise BadURL(f"bad address {url!r}: expected udp://HOST:PORT or unix:///path")
    parts = urlsplit(url)
    if parts.scheme == "unix":
        path = parts.path if not parts.netloc else f"/{parts.netloc}{parts.path}"
        if not parts.path.startswith("/") or len(path) < 2:
            raise BadURL(f"bad address {url!r}: unix sockets need an absolute path, unix:///path")
        return Address("unix", path, None)
    if parts.scheme != "udp":
        raise BadURL(f"bad address {url!r}: scheme must be udp:// or unix://")
    try:
        port = parts.port
    except ValueError:
        raise BadURL(f"bad address {url!r}: port must be 0-65535") from None
    if not parts.hostname or port is None:
        raise BadURL(f"bad address {url!r}: expected udp://HOST:PORT")
    return Address("udp", parts.hostname, port)
