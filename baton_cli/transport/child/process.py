"""Launching and stopping a connector child process (subprocess.md §1).

The listening socket is ours: bound to 127.0.0.1 port 0 before the child starts and inherited by
it, so there is nothing to wait for before dialling. The ServerConfig goes in as one base64 line
on stdin, which then stays open: the child exits when it reads EOF, so even if we are killed
outright (SIGKILL, OOM) the kernel closes the pipe and the child follows us.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from baton_cli.pb.c1.connector_wrapper.v1 import connector_wrapper_pb2
from baton_cli.transport.child.logs import LogRelay

SERVICE_SUBCOMMAND = "_connector-service"
LISTENER_FD_ENV = "BATON_CONNECTOR_SERVICE_LISTENER_FD"
LEGACY_LISTENER_FD_ENV = "C1_CONNECTOR_SERVICE_LISTENER_FD"  # SDKs before v0.0.12
# Our platform credentials are none of the child's business in service mode.
_WITHHELD_ENV = frozenset({"BATON_CLIENT_ID", "BATON_CLIENT_SECRET"})
STOP_GRACE_SECONDS = 5.0


class ChildProcess:
    """One running child: its pid, its logs, and how to stop it."""

    def __init__(
        self,
        executable: Path,
        args: Sequence[str],
        env: Mapping[str, str],
        config: Callable[[int], connector_wrapper_pb2.ServerConfig],
        logger: logging.Logger,
    ) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(64)
            self.port = int(listener.getsockname()[1])
            fd = listener.fileno()
            child_env = {k: v for k, v in env.items() if k not in _WITHHELD_ENV}
            child_env[LISTENER_FD_ENV] = child_env[LEGACY_LISTENER_FD_ENV] = str(fd)
            self.argv = [str(executable), *args, SERVICE_SUBCOMMAND]
            self._process = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(fd,),
                env=child_env,
                # Its own process group: a terminal's Ctrl-C reaches only us, and we stop it in order.
                start_new_session=True,
            )
        finally:
            listener.close()  # the child holds the only copy now: if it dies, dialling fails at once
        self.pid = self._process.pid
        assert self._process.stdout is not None and self._process.stderr is not None
        self._relays = (LogRelay(self._process.stderr, logger), LogRelay(self._process.stdout, logger))
        self._send_config(config(self.port))

    def _send_config(self, config: connector_wrapper_pb2.ServerConfig) -> None:
        line = base64.standard_b64encode(config.SerializeToString()) + b"\n"
        stdin = self._process.stdin
        assert stdin is not None
        # Already dead (bad flags): its error line says why, the caller reports it.
        with contextlib.suppress(BrokenPipeError, OSError):
            stdin.write(line)
            stdin.flush()

    @property
    def returncode(self) -> int | None:
        return self._process.poll()

    def wait(self, timeout: float | None) -> int | None:
        """The exit status once the child exited within ``timeout`` seconds (None: no limit), else None."""
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for relay in self._relays:
            relay.join(1.0)  # its last lines, which say why it exited
        return code

    @property
    def last_error(self) -> str:
        return self._relays[0].last_error or self._relays[1].last_error

    def exit_description(self) -> str:
        code = self._process.poll()
        if code is None:
            return "is still running"
        status = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        line = self.last_error
        return f"{status}: {line}" if line else status

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Close stdin (the child's cue to exit 0), then kill whatever is left of its group."""
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        if self.wait(grace) is None:
            # Still unreaped, so its group id cannot have been reused: kill the whole group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            self.wait(grace)
