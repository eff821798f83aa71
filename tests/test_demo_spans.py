"""`top --demo`'s LLM spans: the demo daemon's traces through tundra's own trace port (real HTTP, msgpack
`/v0.4/traces` as ddtrace sends them), shown on `x` and as a waterfall; never sent where the trace port passes
its traffic on to an Agent."""

from __future__ import annotations

import json
import re
import socket
import threading

from textual.widgets import DataTable, Static

from tundra_tui.commands.top import demo_traces
from tundra_tui.model import Engine
from tundra_tui.model.engine import Mode
from tundra_tui.model.spans import SpanBook
from tundra_tui.services.demo import MODELS, DemoDaemon, make_client
from tundra_tui.services.demo_traces import DemoRequest, DemoTracer
from tundra_tui.services.spanfeed import SpanFeed
from tundra_tui.services.traceproxy import TraceProxy
from tundra_tui.session import Session
from tundra_tui.sources import Tap, parse_url
from tundra_tui.ui.screens.spans import SpansScreen, WaterfallScreen

from .conftest import run_cli
from .ui_fixtures import END_NS, make_app, refreshed
from .waits import settle, wait_until

REQUESTS = 48  # with seed 7: seven traced, one of them failed (a code-review whose prompt holds an address)


async def test_demo_traces_fill_the_spans_screen_and_open_a_waterfall() -> None:
    tap = Tap([parse_url("udp://127.0.0.1:0")])  # UDP: a unix socket queues ten datagrams, a burst loses some
    session = Session(tap, Engine(Mode.DASHBOARD), clock_ns=lambda: END_NS)
    session.start()
    proxy = TraceProxy("http://127.0.0.1:0", SpanBook())
    proxy.start()
    session.spans = SpanFeed(proxy.book, proxy)
    tracer = DemoTracer(proxy.url, seed=7)
    client = make_client(tap.addresses[0])
    daemon = DemoDaemon(client, seed=7, tracer=tracer)
    try:
        for _ in range(REQUESTS):
            daemon.request()
        tracer.flush()
        tracer.close()  # sent, as run_demo does when its duration ends
        assert (tracer.sent, tracer.failed, tracer.dropped) == (7, 0, 0)
        # the spans themselves are waited on (a drain after the reply would do too: a body is queued first)
        wait_until(lambda: proxy.book.summary().received >= 27, "the demo's 27 spans")
        summary = proxy.book.summary()
        assert (summary.received, summary.llm, summary.dropped) == (27, 27, 0)  # 6 traces of 4 spans, 1 of 3
        assert {s.kind for s in summary.recent} == {"agent", "retrieval", "llm", "tool"}
        traces = {s.trace_id for s in summary.recent}
        assert len(traces) == 7 and all(len(t) == 32 for t in traces)
        demo_models = {(m, p) for runs in MODELS.values() for m, p, _ in runs}
        assert {(r.model, r.provider) for r in summary.models} <= demo_models  # the DogStatsD side's own names
        wait_until(lambda: session.dashboard().totals.requests == REQUESTS, "the DogStatsD side's requests")
        dogstatsd = {(m.model, m.provider) for m in session.dashboard().models}
        assert {(r.model, r.provider) for r in summary.models} <= dogstatsd
        failed = [s for s in summary.recent if s.status == "error"]
        assert {(s.kind, s.name) for s in failed} == {("agent", "review-agent"), ("llm", "code-review")}
        doc = json.dumps(summary.as_json())
        assert "dana.lee@example.com" not in doc and "[redacted:email]" in doc  # the redactor ran on them

        app = make_app(session)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("x")
            await settle(lambda: isinstance(app.screen, SpansScreen), "the spans screen")
            await refreshed(app, pilot)
            table = app.screen.query_one(DataTable)
            assert table.row_count == 27
            labels = [c.label.plain for c in table.columns.values()]
            assert "kind" in labels  # at 80 columns: it says what a row without a model is
            kind = labels.index("kind")
            row = next(i for i in range(table.row_count) if table.get_cell_at((i, kind)).plain == "agent"
                       and summary.recent[i].status == "error")
            assert "error" in [table.get_cell_at((row, c)).plain for c in range(len(labels))]
            counters = str(app.screen.query_one("#spans-counters", Static).render())
            assert re.search(r"received 27\s+llm 27\s+dropped 0", counters), counters
            table.move_cursor(row=row)
            await pilot.press("enter")
            await settle(lambda: isinstance(app.screen, WaterfallScreen), "the waterfall")
            await pilot.pause()
            fall = [ln.rstrip() for ln in str(app.screen.query_one("#waterfall", Static).render()).splitlines()]
            assert [ln.split()[0] for ln in fall] == ["review-agent", "fetch-context", "code-review"], fall
            assert fall[1].startswith("  fetch-context") and fall[2].startswith("  code-review")  # children
            assert all(len(ln) <= 76 for ln in fall), fall  # fitted to the screen, never wrapped
            assert "llama-3.1-8b-instruct" in fall[2] or "claude" in fall[2] or "gpt" in fall[2], fall
            detail = str(app.screen.query_one("#span-detail", Static).render())
            assert "review-agent" in detail and "error" in detail
            assert "[redacted:email]" in detail and "dana.lee" not in detail
    finally:
        tracer.close()
        client.close_socket()
        session.stop()
        proxy.stop()


def test_demo_sends_no_spans_through_a_trace_port_that_forwards_to_an_agent() -> None:
    book = SpanBook()
    assert demo_traces(SpanFeed(book)) == (None, None)  # --no-traces: no trace port, nothing to say
    own = TraceProxy("http://127.0.0.1:0", book)
    own.start(serve=False)
    try:
        assert demo_traces(SpanFeed(book, own)) == (own.url, None)
    finally:
        own.stop()
    with socket.socket() as agent:  # where an Agent would be: the demo must never reach it
        agent.bind(("127.0.0.1", 0))
        agent.listen()
        url = f"http://127.0.0.1:{agent.getsockname()[1]}"
        passing = TraceProxy("http://127.0.0.1:0", book, forward=url)
        passing.start(serve=False)
        try:
            assert demo_traces(SpanFeed(book, passing)) == (
                None, f"demo spans not sent: the trace port passes its traffic on to {url}")
        finally:
            passing.stop()
        before = set(threading.enumerate())
        # past the demo's first flush (1 s in): were the guard gone, a trace would go through the port to `agent`
        res = run_cli("top", "--demo", "--once", "--after", "1.3", "--json", "--traces", "http://127.0.0.1:0",
                      "--traces-forward", url)
        assert res.returncode == 0, res.stderr
        assert f"demo spans not sent: the trace port passes its traffic on to {url}" in res.stderr
        assert json.loads(res.stdout)["spans"]["received"] == 0
        for demo in [t for t in threading.enumerate() if t not in before and t.name == "tundra-demo"]:
            demo.join(15)  # its final flush and close (a daemon thread: it outlives run_cli)
            assert not demo.is_alive()
        agent.settimeout(0.2)  # a connection would be in the backlog already: the sender has finished
        try:
            agent.accept()[0].close()
            reached = True
        except TimeoutError:
            reached = False
        assert not reached, "the demo reached the Agent"


def _traced(requests: int, target: str) -> int:
    """How many of seed 7's first `requests` requests the demo traces (worked out again, without sending)."""
    tracer = DemoTracer("http://127.0.0.1:9", seed=7)
    client = make_client(parse_url(target))
    daemon = DemoDaemon(client, seed=7, tracer=tracer)
    for _ in range(requests):
        daemon.request()
    client.close_socket()
    return len(tracer.pending)


def test_tundra_demo_sends_spans_to_the_trace_port_it_is_given() -> None:
    proxy = TraceProxy("http://127.0.0.1:0", SpanBook())
    proxy.start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dsd, socket.socket() as dead:
        dsd.bind(("127.0.0.1", 0))
        target = f"udp://127.0.0.1:{dsd.getsockname()[1]}"
        dead.bind(("127.0.0.1", 0))  # bound, never listening: nothing answers there
        try:
            res = run_cli("demo", "--target", target, "--traces", proxy.url, "--rate", "400", "--duration", "0.2")
            assert res.returncode == 0, res.stderr
            sent = re.search(r"sent (\d+) requests and (\d+) traces\n", res.stderr)
            assert sent, res.stderr
            requests, traces = int(sent[1]), int(sent[2])
            assert traces == _traced(requests, target)  # seed 7's sampled requests: a few in every eight
            # the traces themselves are waited on (a drain would do too: a body is queued before its reply)
            wait_until(lambda: len({s.trace_id for s in proxy.book.summary().recent}) == traces, f"{traces} traces")
            assert proxy.book.summary().dropped == 0
            gone = f"http://127.0.0.1:{dead.getsockname()[1]}"
            res = run_cli("demo", "--target", target, "--traces", gone, "--rate", "400", "--duration", "0.1")
            gone_sent = re.search(rf"sent (\d+) requests and 0 traces(?: \((\d+) not taken by {gone}\))?\n", res.stderr)
            assert res.returncode == 0 and gone_sent, res.stderr
            # every sampled one said not taken (a loaded machine may send too few requests in 0.1 s to sample one)
            assert int(gone_sent[2] or 0) == _traced(int(gone_sent[1]), target), res.stderr
        finally:
            proxy.stop()
    bad = run_cli("demo", "--traces", "udp://127.0.0.1:8126", "--duration", "0.1")
    assert bad.returncode == 2 and bad.stderr.count("\n") <= 2 and "--traces" in bad.stderr, bad.stderr


def test_demo_tracer_given_up_on_counts_what_it_held() -> None:
    """A trace port that takes the connection and never answers: close() gives up on the stuck sender and counts
    the payload being sent as failed and those still waiting as dropped (they were once counted nowhere)."""
    with socket.socket() as port:
        port.bind(("127.0.0.1", 0))
        port.listen()
        tracer = DemoTracer(f"http://127.0.0.1:{port.getsockname()[1]}")
        request = DemoRequest(0, "planner", "planning", "gpt-4o", "openai", False, "", 10, 5, 20.0)
        tracer.request(request)
        tracer.flush()  # the sender PUTs it and waits for a reply that never comes
        port.settimeout(5)
        conn = port.accept()[0]
        with conn:
            conn.settimeout(5)
            assert conn.recv(64).startswith(b"PUT /v0.4/traces")  # it is being sent
            for _ in range(3):
                tracer.request(request)
                tracer.flush()  # waiting behind it
            sender = tracer._sender
            assert sender is not None
            tracer.close(timeout=0.05)
            assert (tracer.sent, tracer.failed, tracer.dropped) == (0, 1, 3)
        sender.join(5)  # the connection closed: its request fails now
        assert not sender.is_alive()
    assert (tracer.sent, tracer.failed, tracer.dropped) == (0, 1, 3)  # its late failure is not counted again
