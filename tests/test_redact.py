"""PII redaction: defaults, config rules, display vs capture, --no-redact, counts."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tundra_tui.capture import CaptureReader
from tundra_tui.model import Engine, redact
from tundra_tui.model.engine import Mode
from tundra_tui.model.redact import Redactor

from .conftest import run_cli
from .waits import Output

T0 = 1_700_000_000 * 10**9
PII = (b"llm.request.complete:1|c|#model:gpt-4o,provider:openai,success:true,user:alice@corp.io,"
       b"client_ip:10.1.2.3,auth:Bearer abc.def.ghi\n"
       b"_e{26,31}:login for alice@corp.io ok|key sk-abcdefghijklmnop1234|#ip:192.168.0.9\n"
       b"_sc|svc.check|2|#user:bob@corp.io|m:token bearer XYZ123\n"
       b"broken line from carol@corp.io")


def test_defaults_cover_emails_tokens_keys_and_ipv4() -> None:
    r = Redactor()
    tags = r.tags(("user:a.b@x.org", "ip:10.0.0.1", "auth:Bearer t0k3n", "k:sk-0123456789abcdefXYZ",
                   "aws:AKIAABCDEFGHIJKLMNOP", "hex:" + "ab" * 20, "version:1.2.3", "env:prod"))
    assert tags == tuple(sorted(("user:[redacted:email]", "ip:[redacted:ipv4]", "auth:[redacted:bearer]",
                                 "k:[redacted:api_key]", "aws:[redacted:api_key]", "hex:[redacted:api_key]",
                                 "version:1.2.3", "env:prod")))
    assert r.text("from 10.0.0.1") == "from [redacted:ipv4]"  # in event text and check messages too


def test_engine_redacts_before_display() -> None:
    e, st = Engine(Mode.DASHBOARD, redactor=Redactor()), Engine(Mode.STATS, redactor=Redactor())
    e.feed([(T0, PII)])
    st.feed([(T0, PII)])
    doc = e.dashboard(T0).to_json()
    text = json.dumps(doc) + json.dumps(st.stats("x").to_json())
    for secret in ("alice@corp.io", "bob@corp.io", "10.1.2.3", "192.168.0.9", "abc.def.ghi", "XYZ123",
                   "sk-abcdefghijklmnop1234"):
        assert secret not in text, secret
    assert doc["totals"]["requests"] == 1  # redaction does not disturb the numbers
    # the metric line, the event and the check are redacted: one datagram, counted once
    assert e.redacted_datagrams == st.redacted_datagrams == 1
    assert doc["tap"]["redacted_datagrams"] == st.stats("x").redacted_datagrams == 1


def test_config_rules_and_disable() -> None:
    r = Redactor.from_config({"rules": [{"name": "ticket", "pattern": r"TCK-\d+", "where": "both"}]})
    assert r.tags(("t:TCK-42",)) == ("t:[redacted:ticket]",)
    assert r.tags(("u:a@b.co",)) == ("u:[redacted:email]",)  # defaults kept
    only = Redactor.from_config({"defaults": False, "rules": [{"name": "x", "pattern": "zz"}]})
    assert only.tags(("u:a@b.co",)) == ("u:a@b.co",)
    off = Redactor.from_config({}, enabled=False)
    assert off.tags(("u:a@b.co",)) == ("u:a@b.co",)


def test_capture_mask_keeps_event_lengths() -> None:
    masked = Redactor().datagram(PII)
    assert b"alice" not in masked and b"10.1.2.3" not in masked and len(masked) == len(PII)
    e = Engine(Mode.DASHBOARD, redactor=Redactor(enabled=False))
    e.feed([(T0, masked)])
    assert e.events == 1 and e.parser.errors["event"] == 0  # `_e{..}` lengths still right


def test_stats_cli_redacts_unless_told_not_to(tmp_path: Path) -> None:
    from tundra_tui.capture import CaptureWriter

    cap = tmp_path / "pii.dog"
    w = CaptureWriter(cap)
    w.write(PII, T0)
    w.close()
    shown = run_cli("stats", str(cap), "--json")
    raw = run_cli("stats", str(cap), "--json", "--no-redact")
    assert "alice@corp.io" not in shown.stdout and "[redacted:email]" in shown.stdout
    assert "alice@corp.io" in raw.stdout
    human = run_cli("stats", str(cap))
    assert "carol@corp.io" not in human.stdout and "redacted" in human.stdout


def test_record_redact_captures(tmp_path: Path) -> None:
    out = tmp_path / "masked.dog"

    def user(err: Output) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(PII, ("127.0.0.1", err.port()))
        s.close()

    done = run_cli("record", str(out), "--listen", "udp://127.0.0.1:0", "--redact-captures", driver=user)
    assert done.returncode == 0, done.stderr  # Ctrl-C: what was queued is recorded, trailer written
    r = CaptureReader(out)
    (msg,) = list(r)
    assert not r.truncated
    assert b"alice@corp.io" not in msg.payload and len(msg.payload) == len(PII)


def test_redaction_never_merges_contexts() -> None:
    e = Engine(Mode.STATS, redactor=Redactor())
    e.feed([(T0, b"logins:1|c|#user:alice@corp.io\nlogins:1|c|#user:bob@corp.io\nlogins:1|c|#user:bob@corp.io")])
    rows = e.stats("x").to_json()["contexts"]
    assert [r["samples"] for r in rows] == [2, 1]  # two contexts, as sent
    assert all(r["tags"] == ["user:[redacted:email]"] for r in rows)  # shown redacted


def test_the_count_is_of_datagrams_redacted_once_each() -> None:
    """Each datagram with something redacted counts once: not per line, per match, per shape or per refresh."""
    pii = b"llm.request.complete:1|c|#model:gpt-4o,user:alice@corp.io,ip:10.1.2.3"
    plain = b"llm.request.complete:1|c|#model:gpt-4o,user:nobody"
    for mode in Mode:
        e = Engine(mode, redactor=Redactor())
        e.feed([(T0 + i * 10**8, pii) for i in range(5)] + [(T0, plain)])  # one shape, 5 datagrams, 2 matches each
        e.feed([(T0 + 10**9, pii + b"\n" + plain + b"\n" + pii)])  # a new second: two lines, one datagram
        e.feed([(T0 + 2 * 10**9, b"bad line from carol@corp.io")])  # a bad line is shown redacted, not folded
        for _ in range(3):  # refreshes, JSON and the bad-line samples redact again for showing; counted once
            e.dashboard(T0 + 3 * 10**9)
            e.stats("x")
        assert e.redacted_datagrams == 6, mode
        assert e.stats("x").redacted_datagrams == 6  # what `stats` prints


def test_showing_a_bad_line_again_does_not_change_it() -> None:
    r = Redactor()
    shown = r.line("bad line from jane.doe@example.com")
    assert "[redacted:" in shown and "jane.doe@example.com" not in shown
    assert r.line("bad line from jane.doe@example.com") == shown


def test_remembered_names_and_tags_show_as_the_rules_say() -> None:
    """Names and tags are redacted once each and remembered: the same string shows the same every time, as a
    Redactor that never saw it shows it; a long one is never kept; a cardinality bomb only empties the memo."""
    r = Redactor()
    long_tag = "user:" + "x" * 300 + "@corp.io"
    tags = ("ip:10.0.0.1", "fe80::1", "env:prod", long_tag, "auth:Bearer t0k3n")
    for _ in range(2):
        assert r.name("svc.alice@corp.io") == Redactor().name("svc.alice@corp.io") == "[redacted:email]"
        assert r.tags(tags) == Redactor().tags(tags) == tuple(sorted((
            "ip:[redacted:ipv4]", "[redacted:ipv6]", "env:prod", "user:[redacted:email]", "auth:[redacted:bearer]")))
    assert long_tag not in r._shown[1] and "fe80::1" in r._shown[1]
    for i in range(redact.MEMO + 5):
        r.tags((f"id:{i}",))
    assert len(r._shown[1]) <= redact.MEMO
    assert r.tags(("user:a.b@x.org",)) == ("user:[redacted:email]",)
