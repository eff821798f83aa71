"""The price table in a helper process: same answers as in-process, asked without anyone waiting on it."""

from __future__ import annotations

import copy
import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

from tundra_tui.commands.common import print_once
from tundra_tui.commands.replay import SAMPLE
from tundra_tui.model import Engine, Pricer
from tundra_tui.model.cost import PRICING
from tundra_tui.model.engine import Mode
from tundra_tui.services.helper_proc import start_early
from tundra_tui.services.prices import HelperPricer
from tundra_tui.session import Session
from tundra_tui.sources import ReplayOnce

OVERRIDES = {"my-local-model": {"input_mtok": 2, "output_mtok": 4}}
CASES = [("gpt-4o", "openai", 1_000_000, 200_000, 0), ("claude-sonnet-4-5", "anthropic", 50_000, 7_000, 10_000),
         ("my-local-model", "local", 1_000_000, 1_000_000, 0), ("no-such-model-xyz", "nobody", 10, 10, 0),
         ("gpt-4o-mini", "openai", 10, 1, 100)]  # cache reads past the input, which genai-prices refuses
TS = 1_700_000_000 * 10**9


def test_helper_answers_as_the_in_process_pricer() -> None:
    local, helper = Pricer(OVERRIDES), HelperPricer(OVERRIDES)
    try:
        first = [helper.cost(*case) for case in CASES]
        assert helper.settle(60)
        for case, early in zip(CASES, first, strict=True):
            assert helper.cost(*case) == local.cost(*case)
            assert early in (PRICING, local.cost(*case))  # asked, not waited for
        assert helper.cost(*CASES[2]) == 6.0  # the override: $2 + $4 per million
        # tokens of several requests: priced as that many average requests, in the helper as here
        assert helper.cost(*CASES[2], requests=4) in (PRICING, 6.0)
        assert helper.settle(60)
        assert helper.cost(*CASES[2], requests=4) == local.cost(*CASES[2], requests=4) == 6.0
        assert helper.cost(*CASES[3]) is None  # unpriced is "n/a", never $0
        assert helper.cost(*CASES[4]) is None  # counts genai-prices refuses: no price, and the helper lives on
        pid = helper.helper_pid
        assert pid is not None
        os.kill(pid, 0)  # answered by the child, still alive
    finally:
        helper.close()
    assert helper.helper_pid is None


def test_a_dead_helper_falls_back_in_process() -> None:
    local, helper = Pricer(OVERRIDES), HelperPricer(OVERRIDES)
    try:
        helper.prefetch()
        assert helper.settle(30)
        pid = helper.helper_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        for case in CASES:
            helper.cost(*case)
        assert helper.settle(60)
        for case in CASES:
            assert helper.cost(*case) == local.cost(*case)
        assert helper.helper_pid is None
    finally:
        helper.close()


def test_engines_share_the_helper_and_price_on_a_later_refresh() -> None:
    helper = HelperPricer()
    engine = Engine(Mode.DASHBOARD, pricer=helper)
    try:
        engine.feed([(TS, b"app.requests:1|c|#model:gpt-4o")])  # plain metrics: no model, no helper (top's case)
        assert engine.dashboard().models == () and helper.settle(0) and helper.helper_pid is None
        engine.feed([(TS, b"llm.tokens.input:1000|c|#model:gpt-4o,provider:openai")])  # the first model starts it
        assert copy.deepcopy(engine).pricer is helper  # replay checkpoints ask the same helper
        assert pickle.loads(pickle.dumps(engine)).pricer is helper  # also those spilled to disk (the prescan's)
        (early,) = engine.dashboard().models
        want = Pricer().cost("gpt-4o", "openai", 1000, 0)
        assert (early.pricing, early.cost_usd) in ((True, None), (False, want))
        assert helper.settle(60)
        (row,) = engine.dashboard().models
        assert not row.pricing and row.cost_usd == want
        assert row.to_json()["pricing"] is False
    finally:
        helper.close()


def test_a_stopped_helper_holds_up_no_dashboard(monkeypatch) -> None:
    """The dashboard is built under the session lock: it must not wait on a helper that answers nothing.
    Were it to wait, it would wait out the timeout and come back with a price, not `pricing`."""
    import tundra_tui.services.prices as prices

    monkeypatch.setattr(prices, "ANSWER_TIMEOUT_S", 0.5)
    helper = HelperPricer()
    helper.prefetch()
    assert helper.settle(30)
    pid = helper.helper_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # alive, holding its pipes, answering nothing
    engine = Engine(Mode.DASHBOARD, pricer=helper)
    engine.feed([(TS, b"llm.tokens.input:1000|c|#model:gpt-4o,provider:openai")])
    try:
        (row,) = engine.dashboard().models
        assert row.pricing and row.cost_usd is None and engine.dashboard().totals.pricing
        assert helper.settle(60)  # the worker gives the helper up and answers in-process
        (row,) = engine.dashboard().models
        assert row.cost_usd == Pricer().cost("gpt-4o", "openai", 1000, 0)
        assert helper.helper_pid is None
    finally:
        helper.close()


def test_the_helper_is_niced_behind_a_screen_only() -> None:
    """Behind a screen the helper yields to it; for `--once` it runs at this process's priority, because the one
    dashboard waits for its prices (a niced helper on a busy machine loads its table only after ingest)."""
    own = os.getpriority(os.PRIO_PROCESS, 0)
    for interactive, want in ((True, max(10, own)), (False, own)):
        helper = HelperPricer(interactive=interactive)
        try:
            helper.prefetch()
            assert helper.settle(30)  # the worker has spawned the helper and set its priority
            pid = helper.helper_pid
            assert pid is not None
            assert os.getpriority(os.PRIO_PROCESS, pid) == want
        finally:
            helper.close()


def test_the_launchers_helper_is_taken_over(monkeypatch) -> None:
    """`tundra top|replay` starts the helper before anything else loads (launch.entry); the pricer takes that
    one over, at the priority its command wants, rather than starting a second. Tracing is not inherited."""
    assert start_early(["stats", "x.dog"]) is None and start_early(["top", "--help"]) is None
    monkeypatch.setenv("PYTHONTRACEMALLOC", "1")  # made its table load ~50x slower: --once gave up on it
    pid = start_early(["replay", "--sample"])
    assert pid is not None
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, pid) == max(10, own)  # a screen's: niced
    assert b"PYTHONTRACEMALLOC=" not in Path(f"/proc/{pid}/environ").read_bytes()
    helper = HelperPricer(OVERRIDES, interactive=False)  # as `--once` asks (tests run as root: may renice up)
    try:
        helper.prefetch()
        assert helper.settle(30)
        assert helper.helper_pid == pid and os.getpriority(os.PRIO_PROCESS, pid) == own
        for case in CASES:
            helper.cost(*case)
        assert helper.settle(60)
        assert [helper.cost(*case) for case in CASES] == [Pricer(OVERRIDES).cost(*case) for case in CASES]
        assert helper.helper_pid == pid  # answered by the early helper, which got the overrides after loading
    finally:
        helper.close()


def test_once_says_when_prices_never_came(capsys) -> None:
    """`--once` waits (bounded) for prices; a helper that still has not answered is said on stderr and in the
    JSON (`prices`: "timed_out"), not left as a silent null. The helper here is stopped: it cannot answer."""
    helper = HelperPricer(interactive=False)
    helper.prefetch()
    assert helper.settle(30)
    pid = helper.helper_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    session = Session(ReplayOnce(SAMPLE), Engine(Mode.DASHBOARD, pricer=helper))
    try:
        session.start(services=True)
        session.wait()
        assert print_once(session, as_json=True, price_wait=0.2) == 0  # stops the session, and the helper
    finally:
        helper.close()
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["prices"] == "timed_out" and doc["totals"]["pricing"] and doc["totals"]["cost_usd"] is None
    pending = [m for m in doc["models"] if m["pricing"]]
    assert pending and all(m["cost_usd"] is None for m in pending)
    assert err.splitlines() == [f"tundra: prices not ready after 0.2 s: no cost for {len(pending)} models "
                                '(JSON: "prices": "timed_out", their "pricing": true)']


_ORPHANS = """
import ctypes, os, subprocess, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come to us
argv = sys.argv[1:]
code = "import sys; sys.argv = ['tundra', *%r]; from tundra_tui.launch import entry; entry()" % (argv,)
rc = subprocess.run([sys.executable, "-c", code], capture_output=True).returncode
def parent(pid):
    try:  # a process of another test may end between the listing and this read
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[1]
    except (FileNotFoundError, ProcessLookupError):
        return None
kids = [p for p in os.listdir("/proc") if p.isdigit() and parent(p) == str(os.getpid())]
print(rc, len(kids))
"""


def test_an_early_helper_no_pricer_took_is_reaped(tmp_path: Path) -> None:
    """A `tundra replay` that ends before any pricer takes the early helper (here exit 2) kills and reaps it: no
    orphan goes on loading the table (a subreaper around the real `tundra` process would inherit it)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}  # no derived cache: the helper loads the whole table
    done = subprocess.run([sys.executable, "-c", _ORPHANS, "replay", "--json", str(tmp_path / "x.dog")],
                          capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert done.stdout.split() == ["2", "0"], done.stderr
