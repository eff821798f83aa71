"""What stands in the way of a listening socket: a port someone holds, a socket file left behind."""

from __future__ import annotations

import os
import socket
import stat
import sys

from .base import SourceError
from .urls import Address

MIRROR_PORT = 8127  # where the Agent's statsd_forward_port mirror is suggested to send


def no_privilege(addr: Address, holder: str) -> str:
    """The one line for a held port that may not be watched: both ways out."""
    exe = os.path.realpath(sys.executable)
    return (f"cannot watch {addr} passively: {holder}, and a packet socket needs CAP_NET_RAW. "
            f"Either run as root (sudo) or `setcap cap_net_raw+ep {exe}`; or let the Agent mirror its traffic "
            f"(statsd_forward_host: 127.0.0.1 and statsd_forward_port: {MIRROR_PORT} in datadog.yaml, or "
            f"DD_STATSD_FORWARD_HOST/DD_STATSD_FORWARD_PORT) and run with --listen udp://127.0.0.1:{MIRROR_PORT}")


def remove_stale_socket(path: str) -> None:
    """Remove a leftover socket file nobody listens on; refuse to touch anything else."""
    if not stat.S_ISSOCK(os.stat(path).st_mode):
        raise SourceError(f"cannot listen on unix://{path}: a non-socket file is there")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)  # stale: nobody is bound to it
        return
    finally:
        probe.close()
    raise SourceError(f"cannot listen on unix://{path}: another process is listening there")
