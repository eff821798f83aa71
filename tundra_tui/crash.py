"""Crash reports: the traceback, scrubbed of secrets, written 0600 to the data dir."""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from pathlib import Path

from . import __version__
from .config import data_dir
from .model.redact import Redactor

SECRET_ENV = ("DD_API_KEY", "DD_APP_KEY", "DATADOG_API_KEY", "DATADOG_APP_KEY")


def scrub(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    """Remove key values (from the environment or given) and anything the PII rules match."""
    for secret in [os.environ.get(k, "") for k in SECRET_ENV] + list(extra_secrets):
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return Redactor().line(text)


def write_report(exc: BaseException, context: str = "", extra_secrets: tuple[str, ...] = ()) -> Path | None:
    """Write a report for `exc`; return its path (None if even that failed)."""
    body = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))  # no locals: they hold keys
    text = (f"tundra {__version__} crash report\n{time.strftime('%Y-%m-%d %H:%M:%S %z')}\n"
            f"python {sys.version.split()[0]} on {platform.platform()}\ncommand: {context}\n\n{body}")
    try:
        path = data_dir() / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(scrub(text, extra_secrets))
        return path
    except OSError:
        return None


class ShownError(Exception):
    """Stands in for an exception that cannot carry `__rich__`: the screen shows `line` for it on exit."""

    def __init__(self, line: object) -> None:
        super().__init__()
        self.line = line

    def __rich__(self) -> object:
        """What the screen shows."""
        return self.line
