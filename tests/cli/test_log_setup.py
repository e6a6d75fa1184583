"""The logging pipeline's formats, levels and the stdout stand-in, on a real logging tree."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from baton_cli.cli.log_setup import LogFormat, StdoutAsLog, configure_logging, rfc3339
from baton_cli.errors import UsageError


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_records_have_rfc3339_utc_level_message_and_fields(restore_logging: None) -> None:
    stream = io.StringIO()
    assert configure_logging("info", None, stream=stream) is LogFormat.json  # not a terminal
    logging.getLogger("baton_cli.runner").info(
        "task %s done", "t1", extra={"task_id": "t1", "task_kind": "grant"}
    )
    logging.getLogger("baton_cli.runner").debug("hidden at info")
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["msg"] == "task t1 done" and line["level"] == "info" and line["logger"] == "baton_cli.runner"
    assert (line["task_id"], line["task_kind"]) == ("t1", "grant")
    assert line["ts"] == rfc3339(line_created(line))


def line_created(line: dict[str, str]) -> float:
    from datetime import datetime

    return datetime.strptime(line["ts"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def test_levels_follow_upstreams_names(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("warn", LogFormat.console, stream=stream)
    logging.getLogger("x").info("quiet")
    logging.getLogger("x").warning("loud")
    assert stream.getvalue().split(maxsplit=2)[1:] == ["WARN", "loud\n"]
    with pytest.raises(UsageError, match="--log-level"):
        configure_logging("verbose", None, stream=stream)


def test_oauth_loggers_stay_quiet_at_debug(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("debug", LogFormat.json, stream=stream)
    logging.getLogger("requests_oauthlib.oauth2_session").debug("Request body was client_assertion=eyJ...")
    logging.getLogger("oauthlib.oauth2").debug("token eyJ...")
    logging.getLogger("baton_cli").debug("ours")
    assert "eyJ" not in stream.getvalue() and "ours" in stream.getvalue()


def test_stray_prints_become_records_one_per_line(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("info", LogFormat.json, stream=stream)
    stand_in = StdoutAsLog()
    print("first line\nsecond", end="", file=stand_in)
    print(" line", file=stand_in)
    messages = [json.loads(text)["msg"] for text in stream.getvalue().splitlines()]
    assert messages == ["stdout: first line", "stdout: second line"]
