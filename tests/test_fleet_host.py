"""This host's requests as Datadog counted them, beside what the tap saw over the same whole points."""

from __future__ import annotations

from tundra_tui.model.fleet import host_check
from tundra_tui.model.host_parts import FleetPart, HostCheck
from tundra_tui.model.series import Series
from tundra_tui.services.fleet import FleetPoller, FleetSettings

from .datadog_stub import API_KEY, APP_KEY, DatadogStub


def test_this_host_in_datadog_beside_the_tap() -> None:
    with DatadogStub() as stub:
        p = FleetPoller(FleetSettings(api_key=API_KEY, app_key=APP_KEY, url=stub.url, timeout_s=3, host="web-1"))
        p.poll_once()
    st = p.state
    assert st.status == "ok" and st.host == "web-1"
    assert [v for _, v in st.host_points] == [10, 20, 0]  # the null point is no requests, not a crash
    t0 = st.host_points[0][0] // 1000
    tap = Series(600)
    for i in range(10):
        tap.add(t0 + i, 1)  # the first minute: 10, as Datadog has it
    for i in range(19):
        tap.add(t0 + 60 + i, 1)  # the second: one short of Datadog's 20
    tap.add(t0 + 150, 5)  # in the third minute, which Datadog may still be filling: left out
    assert host_check(st, since_s=t0, until_s=t0 + 150, tap_total=tap.total) == HostCheck("web-1", t0, t0 + 120, 30, 29)
    late = host_check(st, since_s=t0 + 1, until_s=t0 + 150, tap_total=tap.total)  # the tap started mid-point
    assert late == HostCheck("web-1", t0 + 60, t0 + 120, 20, 19)
    assert host_check(FleetPart(), 0, 10**10, tap.total) is None  # no keys: no check
    assert late.to_json() == {"host": "web-1", "start": t0 + 60, "end": t0 + 120, "datadog_requests": 20,
                              "tap_requests": 19}


def test_other_hosts_only_mean_no_points() -> None:
    with DatadogStub() as stub:
        p = FleetPoller(FleetSettings(api_key=API_KEY, app_key=APP_KEY, url=stub.url, timeout_s=3, host="db-9"))
        p.poll_once()
    assert p.state.host_points == ()
    assert host_check(p.state, 0, 10**10, Series(600).total) == HostCheck("db-9")
