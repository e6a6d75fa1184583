"""``baton health-check``: ask a running daemon's health server, as upstream (cli.md §5).

``GET http://<bind>:<port>/<endpoint>``; exit 0 when the answer is 200, 14 (UNAVAILABLE) when
the daemon answers otherwise or cannot be reached. The body is printed either way, so a probe
script or a person sees why.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from enum import StrEnum
from typing import Annotated

import typer

from baton_cli.cli import options as opt
from baton_cli.errors import BatonError, StatusCode


class Endpoint(StrEnum):
    health = "health"
    ready = "ready"
    live = "live"


def register(app: typer.Typer) -> None:
    @app.command("health-check")
    def health_check(
        endpoint: Annotated[
            Endpoint, opt.option("--endpoint", envvar=None, help="Which probe: health, ready or live.")
        ] = Endpoint.health,
        timeout: Annotated[
            float,
            opt.option("--timeout", envvar=None, metavar="SECONDS", min=0.1, help="Give up after this long."),
        ] = 5.0,
        port: opt.HealthCheckPort = opt.DEFAULT_HEALTH_PORT,
        bind: opt.HealthCheckBindAddress = opt.DEFAULT_HEALTH_BIND,
    ) -> None:
        """Ask a running `baton run --health-check` whether it is healthy; exit 0 when it is."""
        host = f"[{bind}]" if ":" in bind else bind
        url = f"http://{host}:{port}/{endpoint.value}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                typer.echo(response.read().decode("utf-8", "replace"))
                return
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            typer.echo(body)
            raise BatonError(f"{url} answered {exc.code}", code=StatusCode.UNAVAILABLE) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BatonError(f"cannot reach {url}: {reason}", code=StatusCode.UNAVAILABLE) from None
