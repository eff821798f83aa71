"""Watching a UDP port another process holds: an AF_PACKET socket with a classic BPF filter.

The socket is opened in the main process (so a missing CAP_NET_RAW is a clean error) and read
by the receiver process, which turns each IPv4/IPv6 packet back into its UDP payload here.
The kernel filter keeps only UDP to the port (plus UDP fragments, which carry no port after
the first) and never the PACKET_OUTGOING copy: on loopback every packet passes the tap twice,
once going out and once coming in as PACKET_HOST, and only the second is counted.

Stdlib only, no package-relative imports: the receiver process loads it as a sibling script.
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import time
from typing import Any

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_ATTACH_FILTER = 26
SNAP = 0x40000  # keep whole packets
SLOT = 65536 + 128  # an IPv6 header plus the largest UDP datagram

# classic BPF opcodes
_LD_W_ABS, _LD_H_ABS, _LD_B_ABS, _LD_H_IND = 0x20, 0x28, 0x30, 0x48
_LDX_MSH, _AND_K, _JEQ_K, _JSET_K, _RET_K = 0xB1, 0x54, 0x15, 0x45, 0x06
_PKTTYPE = -0x1000 + 4  # SKF_AD_OFF + SKF_AD_PKTTYPE
PACKET_OTHERHOST, PACKET_OUTGOING = 3, 4


_PROGRAM: list[tuple[str, int, int | str, str | None, str | None]] = [
    # (label, code, k, jump if true, jump if false); k "port" is filled in; None: the next instruction
    ("", _LD_W_ABS, _PKTTYPE & 0xFFFFFFFF, None, None),
    ("", _JEQ_K, PACKET_OUTGOING, "drop", None),  # loopback's outgoing copy
    ("", _JEQ_K, PACKET_OTHERHOST, "drop", None),  # promiscuous leftovers
    ("", _LD_B_ABS, 0, None, None),
    ("", _AND_K, 0xF0, None, None),
    ("", _JEQ_K, 0x40, "v4", None),
    ("", _JEQ_K, 0x60, "v6", "drop"),
    ("v4", _LD_B_ABS, 9, None, None),  # protocol
    ("", _JEQ_K, 17, None, "drop"),
    ("", _LD_H_ABS, 6, None, None),  # flags and fragment offset
    ("", _JSET_K, 0x3FFF, "accept", None),  # a fragment: put back together in user space
    ("", _LDX_MSH, 0, None, None),  # X = header length
    ("", _LD_H_IND, 2, None, None),  # UDP destination port
    ("", _JEQ_K, "port", "accept", "drop"),
    ("v6", _LD_B_ABS, 6, None, None),  # next header
    ("", _JEQ_K, 17, None, "v6frag"),
    ("", _LD_H_ABS, 42, None, None),
    ("", _JEQ_K, "port", "accept", "drop"),
    ("v6frag", _JEQ_K, 44, None, "drop"),
    ("", _LD_B_ABS, 40, None, None),  # the fragment header's next header
    ("", _JEQ_K, 17, "accept", "drop"),
    ("accept", _RET_K, SNAP, None, None),
    ("drop", _RET_K, 0, None, None),
]


def bpf_program(port: int) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k); offsets start at the IP header (a SOCK_DGRAM packet socket)."""
    where = {label: i for i, (label, *_rest) in enumerate(_PROGRAM) if label}
    out = []
    for i, (_label, code, k, t, f) in enumerate(_PROGRAM):
        jt = where[t] - i - 1 if t else 0
        jf = where[f] - i - 1 if f else 0
        out.append((code, jt, jf, port if k == "port" else int(k)))
    return out


def open_packet_socket(port: int, interface: str | None = None) -> socket.socket:
    """A packet socket that sees UDP to `port` (on `interface`, or all); PermissionError without CAP_NET_RAW.

    It is created with protocol 0 (deaf) and only bound once the filter is on, so no
    unfiltered packet is ever queued to it."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
    try:
        prog = b"".join(struct.pack("=HBBI", *ins) for ins in bpf_program(port))
        buf = ctypes.create_string_buffer(prog, len(prog))
        fprog = struct.pack("HP", len(prog) // 8, ctypes.addressof(buf))
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        ifindex = socket.if_nametoindex(interface) if interface else 0
        addr = struct.pack("=HHiHBB8s", socket.AF_PACKET, socket.htons(ETH_P_ALL), ifindex, 0, 0, 0, b"")
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.bind(sock.fileno(), addr, len(addr)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    except BaseException:
        sock.close()
        raise
    return sock


def packet_stats(sock: socket.socket) -> tuple[int, int]:
    """(packets, drops) the kernel counted since the last call (reading resets them)."""
    raw = sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
    packets, drops = struct.unpack("=II", raw)
    return packets, drops


class Decoder:
    """IP packet -> UDP payload for one port; fragments are put back together or counted lost.

    The receiver decodes plain IPv4 inline; everything else comes here. `bad` counts packets
    whose headers lie about their lengths; `fragments_lost` counts datagrams whose fragments
    never all arrived (within HOLD_S, or past the table's caps) and were not ours by their
    first fragment's port, or had no first fragment to tell."""

    HOLD_S = 30.0
    MAX_SETS = 256
    MAX_BYTES = 8 << 20

    def __init__(self, port: int) -> None:
        self.port = port
        self.bad = 0
        self.fragments_lost = 0
        self.reassembled = 0
        # (version, src, dst, id) -> [first seen, {offset: bytes}, end offset or -1, bytes held]
        self._sets: dict[tuple[Any, ...], list[Any]] = {}
        self._held = 0

    def payload(self, pkt: memoryview) -> bytes | memoryview | None:
        """The UDP payload to our port in `pkt`, or None (not ours, bad, or a fragment held back)."""
        n = len(pkt)
        if n < 20:
            self.bad += 1
            return None
        version = pkt[0] >> 4
        if version == 4:
            ihl = (pkt[0] & 15) * 4
            total = (pkt[2] << 8) | pkt[3]
            if ihl < 20 or total < ihl or total > n:
                self.bad += 1
                return None
            frag = ((pkt[6] << 8) | pkt[7]) & 0x3FFF
            if frag:
                key: tuple[Any, ...] = (4, bytes(pkt[12:20]), (pkt[4] << 8) | pkt[5])
                return self._fragment(key, (frag & 0x1FFF) * 8, bool(frag & 0x2000), pkt[ihl:total])
            return self._udp(pkt[ihl:total])
        if version == 6 and n >= 40:
            end = 40 + ((pkt[4] << 8) | pkt[5])
            if end > n:
                self.bad += 1
                return None
            if pkt[6] == 17:
                return self._udp(pkt[40:end])
            if pkt[6] == 44 and end >= 48:
                field = (pkt[42] << 8) | pkt[43]
                key6: tuple[Any, ...] = (6, bytes(pkt[8:40]), bytes(pkt[44:48]))
                return self._fragment(key6, field & 0xFFF8, bool(field & 1), pkt[48:end])
        self.bad += 1
        return None

    def _udp(self, seg: memoryview) -> memoryview | None:
        if len(seg) < 8:
            self.bad += 1
            return None
        if ((seg[2] << 8) | seg[3]) != self.port:
            return None  # a reassembled datagram to another port
        length = (seg[4] << 8) | seg[5]
        if length < 8 or length > len(seg):
            self.bad += 1
            return None
        return seg[8:length]

    def _fragment(self, key: tuple[Any, ...], offset: int, more: bool, data: memoryview) -> memoryview | None:
        now = time.monotonic()
        self.expire(now)
        entry = self._sets.get(key)
        if entry is None:
            while len(self._sets) >= self.MAX_SETS or self._held + len(data) > self.MAX_BYTES:
                if not self._sets:
                    self._lose_set(None)
                    return None
                self._lose_set(next(iter(self._sets)))
            entry = self._sets[key] = [now, {}, -1, 0]
        pieces: dict[int, bytes] = entry[1]
        if offset not in pieces:
            pieces[offset] = bytes(data)
            entry[3] += len(data)
            self._held += len(data)
        if not more:
            entry[2] = offset + len(data)
        if entry[2] < 0:
            return None
        pos = 0
        for off in sorted(pieces):
            if off > pos:
                return None  # a hole: wait for the rest
            pos = max(pos, off + len(pieces[off]))
        if pos < entry[2]:
            return None
        del self._sets[key]
        self._held -= entry[3]
        whole = bytearray(entry[2])
        for off in sorted(pieces):
            piece = pieces[off][: entry[2] - off]
            whole[off : off + len(piece)] = piece
        self.reassembled += 1
        return self._udp(memoryview(bytes(whole)))

    def _lose_set(self, key: tuple[Any, ...] | None) -> None:
        if key is None:  # a single fragment larger than the whole table
            self.fragments_lost += 1
            return
        entry = self._sets.pop(key)
        self._held -= entry[3]
        first = entry[1].get(0)
        if first is None or len(first) < 4 or ((first[2] << 8) | first[3]) == self.port:
            self.fragments_lost += 1

    def expire(self, now: float | None = None) -> None:
        """Give up on fragment sets older than HOLD_S (all of them when `now` is None)."""
        for key in [k for k, e in self._sets.items() if now is None or e[0] < now - self.HOLD_S]:
            self._lose_set(key)
