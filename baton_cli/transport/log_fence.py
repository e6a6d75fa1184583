"""Keeps the OAuth libraries' DEBUG output out of every log (imported by the logging set-up too).

requests-oauthlib logs the token request body (the client assertion) and the token response at
DEBUG, oauthlib the parsed token. Pinning their loggers at WARNING means a root level of DEBUG
(``--log-level debug``) still never lets those lines through; children inherit the level.
"""

from __future__ import annotations

import logging

OAUTH_LOGGERS = ("requests_oauthlib", "oauthlib")


def fence_oauth_logging() -> None:
    for name in OAUTH_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
