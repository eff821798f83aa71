"""DogStatsD packet parser: bytes in, frozen records out. Pure: no I/O.

Follows the Datadog Agent's grammar (see README "Protocol notes" for the few deliberate
differences). A malformed line is counted per kind, a sample is kept, and the rest of
the packet is still parsed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from ..text import clean, clean_bytes
from .floats import go_float, go_int
from .records import BadLine, Context, Event, Metric, Record, ServiceCheck

_TYPES = {b"c": "c", b"g": "g", b"h": "h", b"d": "d", b"s": "s", b"ms": "ms"}
_STRIPPED_TAG_PREFIXES = ("dd.internal.entity_id:", "dd.internal.card:")
_PRIORITIES = {b"normal": "normal", b"low": "low"}
_ALERTS = {b"error": "error", b"warning": "warning", b"info": "info", b"success": "success"}
KINDS = ("metric", "event", "service_check")


class ParseError(ValueError):
    """A line the Agent would drop."""


def _text(raw: bytes) -> str:
    """A field as text: control characters made visible here, before any renderer can see them."""
    return clean_bytes(raw)


def split_tags(raw: bytes) -> tuple[tuple[str, ...], str | None]:
    """Split a `#` field into sorted unique tags, pulling out the Agent's special tags."""
    host = None
    tags = set()
    for piece in _text(raw).split(","):
        if not piece:
            continue
        if piece.startswith("host:"):
            host = piece[5:]
        elif not piece.startswith(_STRIPPED_TAG_PREFIXES):
            tags.add(piece)
    return tuple(sorted(tags)), host


def _multiline(raw: bytes) -> str:
    """Event title or text: a literal `\\n` becomes a newline (as the Agent does), other controls visible."""
    return clean(raw.decode("utf-8", "replace").replace("\\n", "\n"), multiline=True)


class Parser:
    """Stateful parser: error counters, recent bad lines and a context cache."""

    def __init__(self, keep_bad: int = 20, cache_size: int = 16384) -> None:
        self.errors = dict.fromkeys(KINDS, 0)
        self.bad_lines: deque[BadLine] = deque(maxlen=keep_bad)
        self.lines = 0
        self._cache: dict[tuple[bytes, bytes, bytes], Context] = {}
        self._cache_size = cache_size

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_cache"] = {}  # a cache: rebuilt as lines arrive
        return state

    # -- entry points -------------------------------------------------------
    def parse_packet(self, packet: bytes) -> list[Record]:
        """Parse one datagram into records; bad lines are counted, never raised."""
        out: list[Record] = []
        for line in packet.split(b"\n"):
            if line[-1:] == b"\r":
                line = line[:-1]
            if not line:
                continue
            self.lines += 1
            rec = self.parse_line(line)
            if rec is not None:
                out.append(rec)
        return out

    def parse_line(self, line: bytes) -> Record | None:
        """Parse one non-empty line; return None (and count it) if it is malformed."""
        kind = "event" if line.startswith(b"_e{") else "service_check" if line.startswith(b"_sc") else "metric"
        try:
            if kind == "metric":
                return self._metric(line)
            if kind == "event":
                return self._event(line)
            return self._service_check(line)
        except (ParseError, ValueError, IndexError) as exc:
            self.errors[kind] += 1
            self.bad_lines.append(BadLine(kind, str(exc) or "malformed", line[:512]))
            return None

    @property
    def error_total(self) -> int:
        """All malformed lines so far."""
        return sum(self.errors.values())

    # -- metrics ------------------------------------------------------------
    def _metric(self, line: bytes) -> Metric:
        name_value, sep, rest = line.partition(b"|")
        if not sep:
            raise ParseError("metric needs a '|'")
        name, sep, raw_value = name_value.partition(b":")
        if not sep:
            raise ParseError("metric needs 'name:value'")
        if not name or not raw_value:
            raise ParseError("empty metric name or value")
        fields = rest.split(b"|")
        raw_type = fields[0]
        mtype = _TYPES.get(raw_type)
        if mtype is None:
            raise ParseError("unknown metric type")
        rate = 1.0
        raw_tags = b""
        timestamp = container = external = cardinality = None
        for field in fields[1:]:
            head = field[:1]
            if head == b"#":
                raw_tags = field[1:]
            elif head == b"@":
                rate = go_float(field[1:])
            elif head == b"T":
                timestamp = go_int(field[1:])
                if timestamp < 1:
                    raise ParseError("timestamp must be >= 1")
            elif field.startswith(b"c:"):
                container = _text(field[2:])
            elif field.startswith(b"e:"):
                external = _text(field[2:])
            elif field.startswith(b"card:"):
                cardinality = _text(field[5:])
        values: tuple[float, ...] | tuple[str, ...]
        if mtype == "s":
            values = (_text(raw_value),)
        elif b":" in raw_value:
            values = tuple(go_float(v) for v in raw_value.split(b":") if v)
        else:
            values = (go_float(raw_value),)
        key = (name, raw_type, raw_tags)
        ctx = self._cache.get(key)
        if ctx is None:
            tags, host = split_tags(raw_tags)
            ctx = Context(_text(name), mtype, tags, host)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()  # bounded under a cardinality bomb
            self._cache[key] = ctx
        return Metric(ctx, values, rate, timestamp, container, external, cardinality)

    # -- events ---------------------------------------------------------------
    def _event(self, line: bytes) -> Event:
        header, sep, message = line.partition(b":")
        if not sep or len(header) < 7 or not header.endswith(b"}"):
            raise ParseError("bad event header")
        raw_title_len, comma, raw_text_len = header[3:-1].partition(b",")
        if not comma:
            raise ParseError("bad event header")
        title_len, text_len = go_int(raw_title_len), go_int(raw_text_len)
        if title_len <= 0 or text_len < 0:
            raise ParseError("bad event lengths")
        if len(message) < title_len + 1 + text_len:
            raise ParseError("event shorter than its declared lengths")
        title = _multiline(message[:title_len])
        text = _multiline(message[title_len + 1 : title_len + 1 + text_len])
        ev: dict[str, object] = {"title": title, "text": text}
        rest = message[title_len + 1 + text_len + 1 :]
        _fields(rest.split(b"|") if rest else (), _EVENT_FIELDS, ev)
        return Event(**ev)  # type: ignore[arg-type]

    # -- service checks ---------------------------------------------------------
    def _service_check(self, line: bytes) -> ServiceCheck:
        if len(line) < 4 or line.count(b"|") < 2:
            raise ParseError("service check needs '_sc|name|status'")
        fields = line[4:].split(b"|")
        name, raw_status = fields[0], fields[1]
        if not name:
            raise ParseError("empty service check name")
        if raw_status not in (b"0", b"1", b"2", b"3"):
            raise ParseError("service check status must be 0-3")
        sc: dict[str, object] = {"name": _text(name), "status": int(raw_status)}
        _fields(fields[2:], _CHECK_FIELDS, sc)
        return ServiceCheck(**sc)  # type: ignore[arg-type]


_Field = tuple[str, Callable[[bytes], object]]  # the record's field name, and how its value is read
_COMMON: dict[bytes, _Field] = {b"d:": ("timestamp", go_int), b"h:": ("host", _text),
                                b"#": ("tags", lambda v: split_tags(v)[0]), b"c:": ("container", _text),
                                b"e:": ("external", _text), b"card:": ("cardinality", _text)}
_EVENT_FIELDS: dict[bytes, _Field] = {
    **_COMMON, b"k:": ("aggregation_key", _text), b"s:": ("source_type", _text),
    b"p:": ("priority", lambda v: _PRIORITIES.get(v, "normal")),
    b"t:": ("alert_type", lambda v: _ALERTS.get(v, "info"))}
_CHECK_FIELDS: dict[bytes, _Field] = {**_COMMON, b"m:": ("message", _text)}


def _fields(parts: Iterable[bytes], wanted: dict[bytes, _Field], out: dict[str, object]) -> None:
    """The optional `|x:value` fields of an event or a service check, read by one table per kind of record."""
    for field in parts:
        if field.startswith(b"#"):
            key, value = b"#", field[1:]
        elif field.startswith(b"card:"):
            key, value = b"card:", field[5:]
        else:
            key, value = field[:2], field[2:]
        spec = wanted.get(key)
        if spec is None:
            continue  # a field this kind of record does not have: ignored, as the Agent does
        try:
            out[spec[0]] = spec[1](value)
        except ValueError:
            pass  # a timestamp that is not a number: the Agent only warns
