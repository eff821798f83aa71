"""The receiver's health part: its words (one helper for the status bar, record's progress line and a command's
closing line) and its JSON (left out while no receiver has exited)."""

from __future__ import annotations

from tundra_tui.commands.report import progress_line, receiver_line
from tundra_tui.model.receiver_parts import HEALTHY, ReceiverHealth
from tundra_tui.model.snapshot import ParseErrors, SessionStatus, SourceStatus, TapPart


def test_the_words_for_each_state() -> None:
    once = ReceiverHealth("killed by SIGKILL", restarts=1)
    twice = ReceiverHealth("exit code 1", restarts=2)
    down = ReceiverHealth("killed by SIGKILL", restarts=3, down=1)
    assert HEALTHY.words() is None and ReceiverHealth("exit code 1").words() is None  # exited, not yet restarted
    assert once.words() == ("receiver restarted 1 time (killed by SIGKILL)", "restarts 1", "warn",
                            "the receiver process exited (killed by SIGKILL) and was restarted 1 time")
    assert twice.words(lost=1234) == ("receiver restarted 2 times (exit code 1)", "restarts 2", "warn",
                                      "the receiver process exited (exit code 1) and was restarted 2 times; "
                                      "1,234 datagrams it held were lost")
    said = down.words(forward="udp://127.0.0.1:8125")  # down says most, whatever restarts came before
    assert said is not None and said[:3] == ("receiver exited (killed by SIGKILL)", "receiver ✗", "alarm")
    assert said.closing == ("the receiver process exited (killed by SIGKILL) and was not restarted: nothing more "
                            "was received or forwarded to udp://127.0.0.1:8125")


def test_the_words_leave_out_how_it_ended_when_that_is_unknown() -> None:
    """Restarted, and how the receiver ended not known: no "(None)" in the words."""
    unknown = ReceiverHealth(None, restarts=1).words()
    assert unknown is not None and unknown.full == "receiver restarted 1 time"
    assert unknown.closing == "the receiver process exited and was restarted 1 time"
    gone = ReceiverHealth(None, down=1).words()
    assert gone is not None and gone.full == "receiver exited"


def test_the_commands_say_the_same_words() -> None:
    """record's progress line carries the status bar's words; the closing line is the sentence, with the forward
    target and the datagrams lost."""
    health = ReceiverHealth("killed by SIGKILL", restarts=3, down=1)
    status = SessionStatus(SourceStatus("live", forward="udp://127.0.0.1:8125", exit_dropped=7, receiver=health))
    words = health.words(forward="udp://127.0.0.1:8125", lost=7)
    assert words is not None
    assert progress_line(status).endswith(f"  {words.full}") and receiver_line(status) == words.closing
    assert words.closing.endswith("; 7 datagrams it held were lost")
    assert receiver_line(SessionStatus(SourceStatus("live"))) is None


def test_the_json_leaves_it_out_while_none_has_exited() -> None:
    def tap(receiver: ReceiverHealth) -> TapPart:
        return TapPart("listen", 1, 1, ParseErrors(), 0, 0, 0, 1, 0, 0, 0.0, 1.0, receiver=receiver)

    assert "receiver" not in tap(HEALTHY).to_json()
    assert tap(ReceiverHealth("exit code 1", restarts=1)).to_json()["receiver"] == {
        "last_exit": "exit code 1", "restarts": 1, "down": 0}
