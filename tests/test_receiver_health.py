"""The receiver's health part: its words (status bar, record's progress line, a command's closing line) and
its JSON (left out while no receiver has exited)."""

from __future__ import annotations

from tundra_tui.model.receiver_parts import HEALTHY, ReceiverHealth
from tundra_tui.model.snapshot import ParseErrors, TapPart


def test_the_words_for_each_state() -> None:
    once = ReceiverHealth("killed by SIGKILL", restarts=1)
    twice = ReceiverHealth("exit code 1", restarts=2)
    down = ReceiverHealth("killed by SIGKILL", restarts=3, down=1)
    assert HEALTHY.said() is None and HEALTHY.said(whole=True) is None
    assert once.said() == "receiver restarted 1 time (killed by SIGKILL)"
    assert twice.said() == "receiver restarted 2 times (exit code 1)"
    assert down.said() == "receiver exited (killed by SIGKILL)"  # down says most, whatever restarts came before
    assert twice.said(whole=True, lost=1234) == ("the receiver process exited (exit code 1) and was restarted "
                                                 "2 times; 1,234 datagrams it held were lost")
    assert down.said(whole=True, forward="udp://127.0.0.1:8125") == (
        "the receiver process exited (killed by SIGKILL) and was not restarted: nothing more was received "
        "or forwarded to udp://127.0.0.1:8125")


def test_the_words_leave_out_how_it_ended_when_that_is_unknown() -> None:
    """Restarted, and how the receiver ended not known: no "(None)" in the words."""
    unknown = ReceiverHealth(None, restarts=1)
    assert unknown.said() == "receiver restarted 1 time"
    assert unknown.said(whole=True) == "the receiver process exited and was restarted 1 time"
    assert ReceiverHealth(None, down=1).said() == "receiver exited"


def test_the_json_leaves_it_out_while_none_has_exited() -> None:
    def tap(receiver: ReceiverHealth) -> TapPart:
        return TapPart("listen", 1, 1, ParseErrors(), 0, 0, 0, 1, 0, 0, 0.0, 1.0, receiver=receiver)

    assert "receiver" not in tap(HEALTHY).to_json()
    assert tap(ReceiverHealth("exit code 1", restarts=1)).to_json()["receiver"] == {
        "last_exit": "exit code 1", "restarts": 1, "down": 0}
