"""A file written on a thread of its own from a bounded queue: the tap and the trace port only queue,
so a slow or full disk never stalls them. The `.dog` recorder and the `.spans` sidecar both build on it."""

from __future__ import annotations

import collections
import errno
import threading
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


class QueuedWriter(Generic[T]):
    """Queue items; a writer thread passes them to `_write` and calls `_tick` every `tick_s` seconds.

    A write error (ENOSPC and friends, or any other failure) stops it with `error` set; what was still
    queued is counted in `dropped`, as is whatever arrives past `max_queue` or after the stop. Subclasses
    open their file before calling this constructor (which starts the thread) and implement the four hooks.
    """

    what = "recording"  # the error line's opening: "recording to PATH stopped: disk full"

    def __init__(self, path: Path, max_queue: int, tick_s: float, thread_name: str) -> None:
        self.path = path
        self.error: str | None = None
        self.dropped = 0
        self._queue: collections.deque[T] = collections.deque()
        self._max = max_queue
        self._tick_s = tick_s
        self._wake = threading.Event()
        self._stop = False
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._thread.start()

    # -- the hooks ---------------------------------------------------------------------------------
    def _write(self, item: T) -> None:
        raise NotImplementedError

    def _tick(self) -> None:
        """Called after each drain of the queue (a flush when it is due)."""

    def _close(self) -> None:
        raise NotImplementedError

    def _abandon(self) -> None:
        raise NotImplementedError

    # -- the queue ---------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return not self._stop and self.error is None

    def put_many(self, items: list[T]) -> None:
        """Queue a batch (dropping, and counting, past the queue limit or once stopped)."""
        if not self.active:
            self.dropped += len(items)
            return
        room = max(self._max - len(self._queue), 0)
        if room < len(items):
            self.dropped += len(items) - room
            items = items[:room]
        self._queue.extend(items)
        self._wake.set()

    def _run(self) -> None:
        q = self._queue
        inflight = 0
        try:
            while True:
                self._wake.wait(self._tick_s)
                self._wake.clear()
                while q:
                    inflight = 1  # an item whose write fails is counted in `dropped` too
                    self._write(q.popleft())
                    inflight = 0
                self._tick()
                if self._stop and not q:
                    break
            if self._abandoned:
                self._abandon()
            else:
                self._close()
        except Exception as exc:  # any failure (a transform's too) must stop and count, never hang
            if isinstance(exc, OSError):
                reason = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            else:
                reason = str(exc) or type(exc).__name__
            self.error = f"{self.what} to {self.path} stopped: {reason}"
            self.dropped += len(q) + inflight
            q.clear()
            try:
                self._close()
            except Exception:  # the error line above is what is reported
                pass

    def abandon(self) -> None:
        """Stop without keeping anything (the session never started): the file goes."""
        self._abandoned = True
        self._stop = True
        self._queue.clear()
        self._wake.set()
        self._thread.join(timeout=10)
        self._abandon()  # again, in case the thread was stuck: abandoning twice is harmless

    def close(self) -> None:
        """Write what is queued, then close the file."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=10)
