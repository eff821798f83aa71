"""Listen/forward addresses: `udp://HOST:PORT` and `unix:///path` (datagram)."""

from __future__ import annotations

import ipaddress
import os
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

DEFAULT_LISTEN = "udp://127.0.0.1:8125"
MAX_UNIX_PATH = 107  # bytes of sun_path (108) less its NUL: a longer path can be neither bound nor sent to


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


def split_url(url: str, what: str = "address") -> tuple[SplitResult, int | None]:
    """urlsplit and the port, with its ValueErrors (a bracket left open, a port past 65535) and control characters
    as BadURL naming `what` (`--traces URL`): the one check every address and URL passes first."""
    if not url.isprintable():  # urlsplit drops tabs and newlines without a word: a different address
        raise BadURL(f"bad {what} {url!r}: control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise BadURL(f"bad {what} {url!r}: {exc}") from None
    try:
        return parts, parts.port
    except ValueError:
        raise BadURL(f"bad {what} {url!r}: port must be 0-65535") from None


def parse_url(url: str) -> Address:
    """Parse a listen/forward URL or raise BadURL with a one-line reason."""
    if "://" not in url:
        raise BadURL(f"bad address {url!r}: expected udp://HOST:PORT or unix:///path")
    parts, port = split_url(url)
    if parts.scheme == "unix":
        path = parts.path if not parts.netloc else f"/{parts.netloc}{parts.path}"
        if not parts.path.startswith("/") or len(path) < 2:
            raise BadURL(f"bad address {url!r}: unix sockets need an absolute path, unix:///path")
        if len(os.fsencode(path)) > MAX_UNIX_PATH:
            raise BadURL(f"bad address {url!r}: a unix socket path has at most {MAX_UNIX_PATH} bytes, this one "
                         f"{len(os.fsencode(path))}")
        return Address("unix", path, None)
    if parts.scheme != "udp":
        raise BadURL(f"bad address {url!r}: scheme must be udp:// or unix://")
    if not parts.hostname or port is None:
        raise BadURL(f"bad address {url!r}: expected udp://HOST:PORT")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise BadURL(f"bad address {url!r}: expected udp://HOST:PORT, nothing more")
    return Address("udp", parts.hostname, port)


def http_url(url: str, what: str) -> str:
    """`url` when it is an http(s)://HOST[:PORT][/path] URL, else BadURL naming `what` (e.g. "--agent-url")."""
    parts = split_url(url, f"{what} URL")[0]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadURL(f"bad {what} URL {url!r}: expected http(s)://HOST[:PORT]")
    return url
