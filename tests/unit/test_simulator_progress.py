"""A simulated 2.0.1 station's firmware update or log upload (operations.Progress)."""

from __future__ import annotations

from app.simulator.operations import Progress


def test_a_new_request_cancels_an_ongoing_one_and_ends_its_steps() -> None:
    firmware = Progress(final="Installed")
    assert firmware.start(1) == "Accepted"
    firmware.sent(1, "Downloading")
    # L02.FR.15: the ongoing update is cancelled for the new one.
    assert firmware.start(2) == "AcceptedCanceled"
    assert (firmware.current(1), firmware.current(2)) == (False, True)
    # What the cancelled one had in flight does not overwrite the new one's status.
    firmware.sent(1, "Downloaded")
    assert firmware.status == "Idle"
    firmware.sent(2, "Installed")
    assert firmware.start(3) == "Accepted"


def test_a_trigger_gets_the_last_status_or_idle_when_nothing_is_ongoing() -> None:
    upload = Progress(final="Uploaded")
    assert upload.triggered() == ("Idle", None)
    upload.start(7)
    upload.sent(7, "Uploading")
    assert upload.triggered() == ("Uploading", 7)
    upload.sent(7, "Uploaded")
    assert upload.triggered() == ("Idle", None)
