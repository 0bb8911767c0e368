"""What every command handler receives, and the exit codes they share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from article_mcp.config import Settings

EXIT_OK = 0
EXIT_FAILURE = 1  # the command ran and found a problem (verify, health degraded)
EXIT_USAGE = 2  # bad arguments or settings
EXIT_UNAVAILABLE = 2  # the database (or another service) cannot be reached


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Settings and consoles for one command run."""

    settings: Settings
    console: Console
    errors: Console

    def print_json(self, data: Any) -> None:
        """Machine-readable output on stdout, exactly JSON (no colour, no wrapping)."""
        self.console.file.write(json.dumps(data, indent=2, default=str) + "\n")
