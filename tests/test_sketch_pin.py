"""model/sketch.py adds to a DDSketch through its private attributes (for speed); ddsketch is pinned below 3.1.
This test names what it relies on, so a release that moves them fails here, not in a user's dashboard
(tests/test_model.py checks that batched adds equal one-by-one adds)."""

from __future__ import annotations

from importlib.metadata import version

from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping


def test_the_pinned_ddsketch_has_what_add_many_reads() -> None:
    major, minor = (int(p) for p in version("ddsketch").split(".")[:2])
    assert (major, minor) == (3, 0)  # pyproject: ddsketch>=3.0,<3.1
    sk = DDSketch()
    assert type(sk._mapping) is LogarithmicMapping
    for name in ("_multiplier", "_offset", "min_possible"):
        assert isinstance(getattr(sk._mapping, name), float), name
    for name in ("_count", "_sum", "_min", "_max"):
        assert isinstance(getattr(sk, name), float), name
    assert callable(sk._store.add)
