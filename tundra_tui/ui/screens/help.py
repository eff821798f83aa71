"""`?`: every key binding of the app and the main screen, then every mark and abbreviation on screen."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# what each action does, where a binding's own description is too short
HELP_TEXT = {
    "pause": "Pause the display (ingestion carries on); in a replay, pause playback",
    "filter": "Filter by tags, e.g. env:production model:gpt-4o",
    "group": "Group rows by model, provider, agent or profile",
    "sort": "Sort rows by requests, errors, cost, tokens, p95 or name",
    "record": "Start/stop recording to the data dir",
    "change_theme": "Pick a theme",
    "fleet": "This host beside the fleet (Datadog API), per model",
    "spans": "LLM spans from the trace port; Enter shows a span's trace",
    "refresh_rate(-1)": "Refresh faster",
    "refresh_rate(1)": "Refresh slower",
    "bad_lines": "Show the last malformed lines",
    "restore": "Restore a maximised pane",
    "step(1)": "Step one second forward (pauses)",
    "step(-1)": "Step one second back (pauses)",
    "speed(2)": "Double replay speed",
    "speed(0.5)": "Halve replay speed",
    "seek(10)": "Seek 10 s forward",
    "seek(-10)": "Seek 10 s back",
    "jump('start')": "Jump to the start",
    "jump('end')": "Jump to the end",
}
MARKS = [
    ("▶", "Profiles: the profile the daemon selected (listed first). Timeline and status bar: replay playing"),
    ("reversed row", "the selected row of the focused pane: ↓↑ j k, a click or the wheel move it; Enter opens it"),
    ("mouse", "a click selects a row and focuses its pane; the wheel scrolls a list; a click on the timeline seeks"),
    ("+3 more", "pane title: rows that do not fit; select a row (↓ j, the wheel) to scroll to them"),
    ("+2 cols", "table header: figure columns left out for width (+2 when even that does not fit); a wider "
     "terminal shows them, Enter shows every figure of a row"),
    ("keys", "the bar under the status bar drops the least used keys when narrow; this list has them all"),
    ("since start", "counts, shares and percentiles cover everything since the first datagram (a replay: the "
     "capture up to its head)"),
    ("since 06:15", "Tokens & cost: what the totals cover (a replay: the capture's span so far, 06:15:51-06:16:10)"),
    ("10s avg", "the current rates: per second, averaged over the last rate window (rate_window_s, 10 s)"),
    ("req/s tok/s", "requests and tokens per second; a group's row in Throughput is its requests per second"),
    ("last 10m", "the sparklines' span (window_s); (75s/col): the seconds one column folds"),
    ("■ end", "the replay reached the end of its capture"),
    ("last datagram", "nothing received for longer than the rate window (idle: the short form)"),
    ("❚❚ PAUSED", "the screen is frozen (p or space resumes); a replay stops at its head"),
    ("●  ━  ─  ┄", "timeline: the replay head, what has played, what is to come, what is not indexed yet"),
    ("╍  !", "timeline: seconds with errors; ! where errors reach half the busiest second"),
    ("1x  max", "timeline: the replay speed (] faster, [ slower)"),
    ("share", "Profiles: the profile's part of all requests"),
    ("bootstrap", "daemon start-ups counted by llm.profile.bootstrap"),
    ("switches", "times the daemon changed profile (each listed as old → new)"),
    ("in  out", "input and output tokens"),
    ("$3.33+", "a partial cost: some models have no price (n priced of m)"),
    ("$  $/min", "cost so far, and per minute over the rate window"),
    ("…", "in a figure's place: prices are still being looked up; at a text's end: the text is cut"),
    ("n/a", "no price known for the model (never shown as $0)"),
    ("-", "nothing sent for this figure with this grouping's tag"),
    ("errors err%", "failed requests (success:false), and their share of requests"),
    ("p50 p95 p99", "latency percentiles: half, 95% and 99% of requests took at most this"),
    ("✖ ▲ ✔ ·", "events: error, warning, success, info"),
    ("dg/s", "datagrams received per second over the rate window"),
    ("err  drop", "lines that failed to parse; datagrams lost (kernel, recorder, forwarder)"),
    ("passive", "watching a UDP port another process (the Agent) holds, with a packet socket"),
    ("agent drop", "datagrams the Agent's own socket dropped (/proc); alarm colour while rising"),
    ("agent ✗", "the Datadog Agent is not reachable"),
    ("spans N", "LLM spans received on the trace port (x lists them); drop: spans the .spans sidecar lost;"
                " in flight: spans a sidecar write given up on holds (in the file only if it returns)"),
    ("receiver exited", "the process reading the socket died and was not restarted: nothing more arrives"
                        " (or is forwarded); 'receiver ✗' when narrow; 'receiver restarted N times'"
                        " ('restarts N') when it was started again"),
    ("redacted", "datagrams with something shown redacted (metrics, events, checks), each counted once"),
    ("●REC", "recording to a capture file, with datagrams written; rec failed: the recording stopped"),
    ("rec in flight", "datagrams a capture write given up on (stuck 10 s) holds: in the file only if it returns"),
    ("/env:prod", "status bar: the filter in force (/ changes it)"),
    ("↓name", "the sort key (s changes it); rows follow the grouping (g)"),
    ("unknown", "rows whose datagrams lack the grouping's tag"),
    ("(other)", "keys past the 500 kept apart, folded together"),
]


def _grid(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for left, right in rows:
        table.add_row(Text(left), Text(right))
    return table


class HelpScreen(ModalScreen[None]):
    """Lists bindings, then marks; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 72; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = bindings

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "tundra keys"
            scroll.border_subtitle = "esc to close"
            yield Static(Group(_grid(self.rows), Text(""), Text("Marks and abbreviations", style="bold"),
                               _grid(MARKS)))
