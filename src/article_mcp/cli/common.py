"""What every command handler receives, and the exit codes every command shares.

Each exit code means one thing, so that scripts and monitors can act on the code alone:

    EXIT_OK            0  ok
    EXIT_FAILURE       1  the command ran and the answer is no: a check found a problem
                          (`db verify`, `check provider`, `check config`, `queue stuck`,
                          `queue health` degraded), or the operator declined to confirm
    EXIT_USAGE         2  bad arguments or settings (argparse's own code)
    EXIT_UNAVAILABLE   3  a service cannot be reached now: the database or the embedding provider
    EXIT_CONFLICT      4  what the command names does not exist, or clashes with the current state
    EXIT_UNHEALTHY     5  `queue health` found the queue unhealthy
    EXIT_INTERRUPTED 130  interrupted (Ctrl-C)

A handler returns the code of what it found; main.py is the one place where an error becomes
a code (its EXIT_CODES).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from article_mcp.config import Settings

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_CONFLICT = 4
EXIT_UNHEALTHY = 5
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Settings and consoles for one command run."""

    settings: Settings
    console: Console
    errors: Console

    def print_json(self, data: Any) -> None:
        """Machine-readable output on stdout, exactly JSON (no colour, no wrapping)."""
        self.console.file.write(json.dumps(data, indent=2, default=str) + "\n")
