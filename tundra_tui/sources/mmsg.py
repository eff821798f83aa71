"""recvmmsg(2) and sendmmsg(2) through ctypes: hundreds of datagrams per system call (Linux).

Stdlib only, no package-relative imports: the receiver process loads it as a sibling script
(the parent imports it as `tundra_tui.sources.mmsg`).
"""

from __future__ import annotations

import ctypes
from typing import Any

VLEN = 512
MSG_WAITFORONE = 0x10000
MSG_DONTWAIT = 0x40
MSG_TRUNC = 0x20
EINTR, EAGAIN = 4, 11


class IOVec(ctypes.Structure):
    """struct iovec."""

    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    """struct msghdr."""

    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32), ("iov", ctypes.POINTER(IOVec)),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class MMsgHdr(ctypes.Structure):
    """struct mmsghdr."""

    _fields_ = [("hdr", MsgHdr), ("len", ctypes.c_uint)]


def libc_fn(name: str) -> Any:
    """A libc (fd, msgvec, vlen, flags) function with errno kept, or None."""
    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, name, None)
    if fn is not None:
        fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
        fn.restype = ctypes.c_int
    return fn


class Ring:
    """VLEN receive slots of `slot` bytes each, for one recvmmsg call at a time.

    `view` is the slots' memory; `length(i)` and `truncated(i)` read the kernel's answer
    straight from the headers (a memoryview of words), without building ctypes objects."""

    def __init__(self, fd: int, slot: int, vlen: int = VLEN) -> None:
        self.fd, self.slot, self.vlen = fd, slot, vlen
        self._fn = libc_fn("recvmmsg")
        if self._fn is None:
            raise OSError("recvmmsg is not available")
        self.store = (ctypes.c_char * (slot * vlen))()  # pages are only touched as datagrams land
        self.base = ctypes.addressof(self.store)
        self.view = memoryview(self.store).cast("B")
        self._iovs = (IOVec * vlen)()
        self._msgs = (MMsgHdr * vlen)()
        for i in range(vlen):
            self._iovs[i].base, self._iovs[i].len = self.base + i * slot, slot
            self._msgs[i].hdr.iov = ctypes.pointer(self._iovs[i])
            self._msgs[i].hdr.iovlen = 1
        self.stride = ctypes.sizeof(MMsgHdr) // 4
        self.len_at = MMsgHdr.len.offset // 4
        self.flags_at = (MMsgHdr.hdr.offset + MsgHdr.flags.offset) // 4
        self.words = memoryview(self._msgs).cast("B").cast("I")

    def recv(self, flags: int) -> int:
        """Datagrams received into the slots, or minus the errno."""
        n: int = self._fn(self.fd, self._msgs, self.vlen, flags, None)
        return n if n >= 0 else -ctypes.get_errno()
