"""A cache derived from the genai-prices table, so the price helper answers without loading genai-prices.

genai-prices costs the helper ~0.2 s of CPU before its first answer (pydantic, an HTTP client and a 1.6 MB
table module; ~0.6 s where bytecode is not cached). The cache keeps, per (model, provider) tundra has priced,
the prices genai-prices resolved for it, and `cost_of` does genai-prices' own arithmetic on them
(ModelPrice.calc_price: the same Decimal operations in the same order) for the counts tundra has: input
(cached included), output and cache-read tokens. An entry is kept only when its prices are of the kinds
`cost_of` knows (TERMS; any other must price nothing for such counts) and its answers equal genai-prices'
at probe counts in every tier, fractional ones included. A price with a time-of-day condition is never
kept; a dated one only until the next start date in the model's price list.

One file per table (genai-prices' version and its table file's size and mtime), under the user cache dir.
Written atomically (a private temp file renamed over it); read only from a regular file this user owns,
that nobody else may write, in a directory likewise, at most MAX_BYTES, that parses as exactly what is
written here: any other file is ignored (and replaced by the next entry learned). No genai-prices import here
but in `learn`, which a helper calls only once it has loaded the table anyway.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import stat
import time
from decimal import Context, Decimal
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from ..model.cost import table_match

FORMAT = 1
MAX_BYTES = 1 << 20
MAX_ENTRIES = 2000
MAX_UNPRICED = 200  # "no price" entries kept: names from traffic, so a flood of junk names must leave room
# price key -> (usage it prices, units per price): what genai-prices' registry says of them (checked in `learn`)
TERMS = {"input_mtok": ("input_tokens", 1_000_000), "output_mtok": ("output_tokens", 1_000_000),
         "cache_read_mtok": ("cache_read_tokens", 1_000_000), "cache_write_mtok": ("cache_write_tokens", 1_000_000),
         "requests_kcount": ("requests", 1_000)}
Term = tuple[str, Decimal, tuple[tuple[int, Decimal], ...]]  # price key, base price, tiers (start, price)
Entry = tuple[float | None, tuple[Term, ...] | None]  # valid until (unix s; None: as long as the table), terms


def cost_of(terms: tuple[Term, ...], i: Decimal, o: Decimal, c: Decimal | None) -> Decimal:
    """One request's total price, as genai-prices computes it from these prices: the input tokens net of the
    priced cache reads and writes (exactly), each priced count times its tier's price over its units, summed."""
    priced = {TERMS[key][0] for key, _, _ in terms}
    leaves: dict[str, Decimal | int] = {"output_tokens": o, "requests": 1, "cache_write_tokens": 0,
                                        "cache_read_tokens": c if c is not None else 0}
    net: Decimal | int = i
    for part in ("cache_read_tokens", "cache_write_tokens"):
        if part in priced:
            net = _exact_difference(net, leaves[part])
    if net < 0:
        raise ValueError(f"Invalid usage data: cache reads ({c}) cannot exceed input_tokens ({i})")
    leaves["input_tokens"] = net
    total = Decimal(0)
    for key, base, tiers in terms:
        usage, per = TERMS[key]
        price = base
        for start, tier_price in reversed(tiers):  # a tier's price applies to all the tokens past its start
            if i > start:
                price = tier_price
                break
        count = leaves[usage]
        total += price * (count if isinstance(count, Decimal) else Decimal(count)) / per
    return total


def _exact_difference(a: Decimal | int, b: Decimal | int) -> Decimal | int:
    if isinstance(a, int) and isinstance(b, int):
        return a - b
    da, db = Decimal(a), Decimal(b)
    digits = max(da.adjusted(), db.adjusted()) - min(int(da.as_tuple().exponent), int(db.as_tuple().exponent)) + 3
    return Context(prec=max(digits, 1), Emax=999_999, Emin=-999_999).subtract(da, db)


def table_key() -> str | None:
    """genai-prices' version and its table file's size and mtime (None when it cannot be found), without
    importing it."""
    try:
        spec = find_spec("genai_prices")
        if spec is None or spec.origin is None:
            return None
        here = Path(spec.origin).parent
        table = (here / "data.py").stat()
        dists = sorted(p.name for p in here.parent.glob("genai_prices-*.dist-info"))
    except (OSError, ImportError, ValueError):
        return None
    if len(dists) != 1:
        return None
    return f"{dists[0][len('genai_prices-'):-len('.dist-info')]}-{table.st_size}-{table.st_mtime_ns}"


class PriceCache:
    """The entries of one table's cache file: read once, added to by `learn`, written back by `save`."""

    def __init__(self, directory: Path, key: str) -> None:
        self.path = directory / f"prices-{''.join(ch if ch.isalnum() or ch in '.-' else '_' for ch in key)}.json"
        self.key = key
        self.entries: dict[tuple[str, str], Entry] = {}
        self.changed = False
        self._saved_at = 0.0
        self._refused: set[tuple[str, str]] = set()  # not derivable: asked of genai-prices, never derived again

    @classmethod
    def open(cls, directory: Path | None = None) -> PriceCache | None:
        """This table's cache as found on disk (empty if absent or not to be trusted); None without a table key."""
        key = table_key()
        if key is None:
            return None
        if directory is None:
            import platformdirs

            directory = Path(platformdirs.user_cache_dir("tundra"))
        cache = cls(directory, key)
        cache.entries = _read(cache.path, key)
        return cache

    def cost(self, model: str, provider: str, i: Decimal, o: Decimal, c: Decimal | None,
             n: Decimal) -> tuple[bool, float | None]:
        """(True, the answer) from the cache, or (False, None) when genai-prices must be asked."""
        entry = self.entries.get((model, provider))
        if entry is None or (entry[0] is not None and entry[0] <= time.time()):
            return False, None
        terms = entry[1]
        try:
            return True, None if terms is None else float(cost_of(terms, i, o, c) * n)
        except ValueError:  # counts genai-prices refuses too (checked in `_derive`): no price, as Pricer answers
            return True, None

    def learn(self, model: str, provider: str) -> None:
        """Add what genai-prices says of this model, if `cost_of` answers as it does (loads genai-prices)."""
        if len(self.entries) >= MAX_ENTRIES or (model, provider) in self._refused:
            return
        try:
            entry = _derive(model, provider)
        except (ImportError, AttributeError, LookupError, TypeError, ValueError, ArithmeticError):
            entry = None  # a genai-prices laid out otherwise: no entry, the helper asks it as ever
        if entry is None or (entry[1] is None and sum(e[1] is None for e in self.entries.values()) >= MAX_UNPRICED):
            # not derivable, or a "no price" past the cap (priced models keep their room): genai-prices is asked
            # as ever, and the ~50-80 probes of a derivation are not run again for every question of the session
            self._refused.add((model, provider))
            return
        self.entries[(model, provider)] = entry
        self.changed = True

    def save(self) -> None:
        """Write the entries atomically, if any changed (past 100 entries, at most once a second: a later call
        writes what waited); a cache that cannot be written is no cache."""
        now = time.monotonic()
        if not self.changed or (len(self.entries) > 100 and now < self._saved_at + 1.0):
            return
        self.changed, self._saved_at = False, now
        rows = [[m, p, until, None if terms is None else [[k, str(b), [[s, str(t)] for s, t in tiers]]
                                                          for k, b, tiers in terms]]
                for (m, p), (until, terms) in self.entries.items()]
        text = json.dumps({"format": FORMAT, "table": self.key, "entries": rows}, separators=(",", ":"))
        if len(text) > MAX_BYTES:
            return
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _private(os.lstat(self.path.parent)):
                return  # it would never be read back
            import tempfile  # here: its imports (random, hashlib) are not the start-up's

            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".prices-", suffix=".tmp")  # mode 0600
            try:
                with os.fdopen(fd, "w") as fh:
                    fh.write(text)
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            pass


def _read(path: Path, key: str) -> dict[tuple[str, str], Entry]:
    """The entries of a trustworthy cache file for this table; {} for anything else."""
    try:
        if not _private(os.lstat(path.parent)):
            return {}
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return {}
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not _private(st) or st.st_size > MAX_BYTES:
            return {}
        with os.fdopen(fd, "rb", closefd=False) as fh:
            doc = json.loads(fh.read(MAX_BYTES + 1))
        return _parse(doc, key)
    except (OSError, ValueError, TypeError, KeyError, IndexError, ArithmeticError, RecursionError):
        return {}
    finally:
        os.close(fd)


def _private(st: os.stat_result) -> bool:
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _parse(doc: Any, key: str) -> dict[tuple[str, str], Entry]:
    """The entries of a parsed cache document, checked field by field (ValueError on anything off)."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("table") != key:
        raise ValueError("another table or format")
    rows = doc["entries"]
    if not isinstance(rows, list) or len(rows) > MAX_ENTRIES:
        raise ValueError("entries")
    out: dict[tuple[str, str], Entry] = {}
    for model, provider, until, terms in rows:
        if not (isinstance(model, str) and isinstance(provider, str)):
            raise ValueError("names")
        if until is not None and (type(until) not in (int, float) or not math.isfinite(until)):
            raise ValueError("until")
        out[(model, provider)] = (until, None if terms is None else tuple(_term(t) for t in terms))
    return out


def _term(raw: Any) -> Term:
    key, base, tiers = raw
    if key not in TERMS or not isinstance(tiers, list):
        raise ValueError("term")
    parsed = tuple((_start(s), _price(p)) for s, p in tiers)
    if [s for s, _ in parsed] != sorted(s for s, _ in parsed):
        raise ValueError("tiers out of order")
    return key, _price(base), parsed


def _start(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError("tier start")
    return value


def _price(value: Any) -> Decimal:
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("price")
    price = Decimal(value)
    if not price.is_finite() or price < 0 or not -40 < price.adjusted() < 12:
        raise ValueError("price")
    return price


def _derive(model: str, provider: str) -> Entry | None:
    """The entry for this model from genai-prices, or None when `cost_of` cannot stand in for it."""
    from genai_prices.types import ConditionalPrice, ModelPrice, StartDateConstraint, TieredPrices
    from genai_prices.units import _get_registry

    found = table_match(model, provider)
    if found is None:
        return None, None
    units = {k: _get_registry().unit_for_price_key(k) for k in TERMS}
    if any((unit.usage_key, unit.per) != TERMS[k] for k, unit in units.items()):
        return None  # a genai-prices whose units differ from what cost_of assumes
    until: float | None = None
    if not isinstance(found.model.prices, ModelPrice):
        today = dt.datetime.now(dt.UTC).date()
        for conditional in found.model.prices:
            assert isinstance(conditional, ConditionalPrice)
            constraint = conditional.constraint
            if constraint is None:
                continue
            if not isinstance(constraint, StartDateConstraint):
                return None  # a time of day: the price changes within a session
            if constraint.start_date > today:
                start = dt.datetime.combine(constraint.start_date, dt.time(), dt.UTC).timestamp()
                until = start if until is None else min(until, start)
    price = found.model_price
    terms: list[Term] = []
    thresholds = {0}
    for key, value in price.__dict__.items():
        if key.startswith("_") or value is None:
            continue
        tiers = tuple((t.start, t.price) for t in value.tiers) if isinstance(value, TieredPrices) else ()
        thresholds.update(s for s, _ in tiers)
        if key in TERMS:
            terms.append((key, value.base if isinstance(value, TieredPrices) else value, tiers))
    for i in sorted({t + d for t in thresholds for d in (0, 1, 2)} | {1_000, 10**9}):
        for o, c in ((0, None), (7, None), (0, min(i, 3) or None), (5, i or None), (1, i + 1)):
            for den in (1, 3):
                di, do, dc = Decimal(i) / den, Decimal(o) / den, None if c is None else Decimal(c) / den
                if not _agree(price, tuple(terms), di, do, dc):  # cache reads past the input: both refuse
                    return None  # where the cache read is priced, else both price
    return until, tuple(terms)


def _agree(price: Any, terms: tuple[Term, ...], i: Decimal, o: Decimal, c: Decimal | None) -> bool:
    """Whether `cost_of` answers as genai-prices' ModelPrice `price` does for these counts, a refusal included."""
    from genai_prices.types import Usage

    try:
        live: Decimal | None = price.calc_price(Usage(input_tokens=i, output_tokens=o, cache_read_tokens=c))[
            "total_price"]
    except ValueError:
        live = None
    try:
        here: Decimal | None = cost_of(terms, i, o, c)
    except ValueError:
        here = None
    return here == live
