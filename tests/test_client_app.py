"""Errors logged inside Twisted reach the user as one line, not a traceback."""

from __future__ import annotations

from twisted.logger import Logger, LogPublisher

from chatproto.client.app import error_observer


def test_errors_are_reported_in_one_line_and_the_rest_is_dropped() -> None:
    reported: list[str] = []
    publisher = LogPublisher(error_observer(reported.append))
    log = Logger(observer=publisher)
    log.info("Scheduling retry {n}", n=1)
    log.warn("a warning")
    log.error("disk {what}", what="full")
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.failure("while doing a thing")
    assert reported == [
        "unexpected error: disk full",
        "unexpected error: division by zero",
    ]


def test_a_broken_reporter_does_not_propagate() -> None:
    def broken(text: str) -> None:
        raise RuntimeError("terminal gone")

    publisher = LogPublisher(error_observer(broken))
    Logger(observer=publisher).error("boom")  # does not raise
