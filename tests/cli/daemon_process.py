"""A real `baton run` child whose stderr lines a test can wait for (events, not sleeps)."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.cli.process import baton_env


class DaemonProcess:
    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "baton_cli", "run", *args],
            cwd=cwd,
            env=baton_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        with self.proc.stderr:
            for line in self.proc.stderr:
                self._new.put(line.rstrip("\n"))
        self._new.put(None)

    def wait_for_lines(self, needle: str, count: int = 1, timeout: float = 60) -> list[str]:
        """Block until ``count`` stderr lines contain ``needle``; fail with what was seen."""
        deadline = time.monotonic() + timeout
        while sum(needle in line for line in self.lines) < count:
            left = deadline - time.monotonic()
            try:
                line = self._new.get(timeout=max(left, 0.01))
            except queue.Empty:
                line = ""
            if line is None or left <= 0:
                raise AssertionError(f"never saw {count} x {needle!r}; stderr:\n" + "\n".join(self.lines))
            if line:
                self.lines.append(line)
        return [line for line in self.lines if needle in line]

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def finish(self, timeout: float = 90) -> int:
        """Wait for the exit; the rest of stderr is collected into ``lines``."""
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.stop()

    def stop(self) -> None:
        """Kill the child if it still runs, reap it and close its pipes: every test's cleanup.

        Popen warns (ResourceWarning) about a child it never waited for or a pipe left open,
        and with warnings as errors that fails whichever test runs next in the worker.
        """
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(10)
        while not self._new.empty():
            line = self._new.get()
            if line:
                self.lines.append(line)
        assert self.proc.stdout is not None
        self.proc.stdout.close()

    def __enter__(self) -> DaemonProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)
