"""A file written on a thread of its own from a bounded queue: the tap and the trace port only queue,
so a slow or full disk never stalls them. The `.dog` recorder and the `.spans` sidecar both build on it.

Every item handed to `put_many` ends up counted exactly once: in `written` (it is in the file), in `dropped`
(refused past the queue limit or after the stop, lost to a failed write, or never to be written) or, only while
a stuck writer that was given up on has not returned, in `in_flight`: written but not yet out of the process
(or being written), so in the file if the write returns and the close flushes them, lost if the process ends
first. Once the writer returns, they move to `written` or `dropped` by what the file then holds. The counters
and the queue change under one lock, which is never held across a write: the writer takes a chunk under the
lock, writes it without, then accounts for it under the lock.
"""

from __future__ import annotations

import collections
import errno
import threading
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

CHUNK = 256  # items the writer takes per lock hold: `written` lags the file by at most this many
JOIN_S = 10.0  # how long close() and abandon() wait for the writer before giving up on it (and counting)


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
        self.dropped = 0  # items never written: refused, lost to a failure, or given up on (under _lock)
        self.written = 0  # items the file writer took; once given up on, those in the file (under _lock)
        self.in_flight = 0  # given up on while written or being written: their fate is the stuck write's
        self._held = 0  # items accepted and not yet counted either way: the queue plus the chunk being written
        self._chunk = 0  # items in the chunk being written (under _lock)
        self._started = 0  # of them, how many the writer began (only the writer sets it): the rest never will be
        self._queue: collections.deque[T] = collections.deque()
        self._lock = threading.Lock()
        self._max = max_queue
        self._tick_s = tick_s
        self._wake = threading.Event()
        self._stop = False
        self._abandoned = False
        self._gave_up = False  # close()/abandon() stopped waiting for a stuck writer: it counts nothing more
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

    def _durable(self) -> int | None:
        """How many items written are in the file for good (flushed whole); None when the file cannot say."""
        return None

    def _where(self) -> Path:
        """Where what was flushed is now (a file not yet given its name is under a temporary one)."""
        return self.path

    # -- the queue ---------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return not self._stop and self.error is None

    def put_many(self, items: list[T]) -> None:
        """Queue a batch (dropping, and counting, past the queue limit or once stopped)."""
        with self._lock:
            if self._stop or self.error is not None:
                self.dropped += len(items)
                return
            room = max(self._max - self._held, 0)
            if room < len(items):
                self.dropped += len(items) - room
                items = items[:room]
            self._queue.extend(items)
            self._held += len(items)
        self._wake.set()

    def _take(self) -> list[T]:
        """The next chunk to write (empty when the queue is, or the writer was given up on)."""
        with self._lock:
            q = self._queue
            if self._gave_up:
                return []
            chunk = [q.popleft() for _ in range(min(len(q), CHUNK))]
            self._chunk, self._started = len(chunk), 0
            return chunk

    def _account(self, done: int) -> None:
        """`done` items of the chunk were written (once given up on, the end of `_run` counts instead)."""
        with self._lock:
            self._chunk = 0
            if not self._gave_up:
                self.written += done
                self._held -= done

    def _run(self) -> None:
        done = 0
        try:
            while True:
                self._wake.wait(self._tick_s)
                self._wake.clear()
                while chunk := self._take():
                    done = 0
                    for item in chunk:
                        self._started += 1  # before the check: a give-up reading it counts this one in flight
                        if self._gave_up:  # the rest of the chunk is counted as dropped already: never written
                            break
                        self._write(item)
                        done += 1
                    self._account(done)
                    done = 0
                self._tick()
                with self._lock:
                    if self._gave_up or (self._stop and not self._queue):
                        break
            if self._abandoned:
                self._abandon()
            else:
                self._close()  # also once given up on: what it did write stays a readable file
            self._settle()
        except Exception as exc:  # any failure (a transform's too) must stop and count, never hang
            if isinstance(exc, OSError):
                reason = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            else:
                reason = str(exc) or type(exc).__name__
            self._account(done)  # the chunk's items before the failing one were written
            self._give_up(f"{self.what} to {self.path} stopped: {reason}", gave_up=False)
            try:
                self._close()
            except Exception:  # the error line above is what is reported
                pass
            self._unwrite()  # after the close: it may still have flushed them (a transform failed, not the disk)
            self._settle()

    def _settle(self) -> None:
        """The stuck writer returned and closed the file: what was in flight is in it, or never will be."""
        durable = self._durable() if not self._abandoned else 0
        with self._lock:
            if not self._gave_up or not self.in_flight:
                return
            known = self.written + self.in_flight
            now = known if durable is None else min(max(durable, self.written), known)
            self.dropped += known - now
            self.written, self.in_flight = now, 0

    def _unwrite(self) -> None:
        """After a failure, `written` is made to say what the file holds: items the file writer took but never
        flushed whole are lost with it (from `written` to `dropped`); the item whose write failed after the
        file took it (its flush failed, then the close got it out) is in it after all (back from `dropped`)."""
        durable = self._durable()
        with self._lock:
            if durable is not None and not self._gave_up and self.written != durable:
                self.dropped += self.written - durable
                self.written = durable

    def _give_up(self, error: str | None, gave_up: bool) -> int:
        """Stop: everything not yet counted is dropped (once), `error` kept unless one is already; how many.

        Giving up on a stuck writer (`gave_up`) drops only what it will never write (the queue, its chunk's
        items not begun); what it began or has not flushed is `in_flight`, and `written` is what the file holds.
        """
        durable = self._durable() if gave_up and not self._abandoned else None
        with self._lock:
            if self._gave_up:
                return 0
            lost = self._held
            if gave_up and not self._abandoned:
                self._gave_up = True  # set before _started is read: the writer begins no item after it saw it
                begun = min(self._started, self._chunk)
                lost = len(self._queue) + self._chunk - begun
                taken = self.written + begun  # written, or begun: the file may hold any of them in the end
                self.written = taken if durable is None else min(durable, taken)
                self.in_flight = taken - self.written
            self.dropped += lost
            self._held = 0
            self._queue.clear()
            self._stop = True
            self._gave_up = gave_up
            if self.error is None:
                self.error = error
            return lost

    def abandon(self, join_s: float = JOIN_S) -> None:
        """Stop without keeping anything (the session never started): the file goes."""
        with self._lock:
            self._abandoned = True
            self._stop = True
            self.dropped += len(self._queue)
            self._held -= len(self._queue)
            self._queue.clear()
        self._wake.set()
        self._thread.join(timeout=join_s)
        if self._thread.is_alive():
            self._give_up(None, gave_up=True)
        self._abandon()  # again, in case the thread was stuck: abandoning twice is harmless

    def close(self, join_s: float = JOIN_S) -> None:
        """Write what is queued, then close the file; a writer still stuck after `join_s` seconds is given up
        on: what it will not write is counted as dropped, what it may still get out as in flight, and `error`
        says why, and where what was flushed is when the file has not yet taken its name."""
        with self._lock:
            self._stop = True
        self._wake.set()
        self._thread.join(timeout=join_s)
        if self._thread.is_alive():
            where = self._where()
            kept = "" if where == self.path else f"; what reached the disk is in {where} (named {self.path} " \
                "only if the write returns before tundra exits)"
            self._give_up(f"{self.what} to {self.path} stopped: a write did not return in {join_s:g} s{kept}",
                          gave_up=True)
