"""`check config`: every setting, its value (secrets masked), where it came from, and what is
wrong with the whole.

The values are read through the settings' own sources (pydantic-settings' environment and
dotenv sources), exactly as `load_settings` reads them, so the report cannot disagree with
what a command would use. It works on settings that do not validate: that is when it is
needed most.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource

from article_mcp.config import SECRET_SETTINGS, Settings, describe_validation_error, redact_url

Source = Literal["environment", ".env", "default"]

# Names that look like ours: an unknown one is probably a typo, even when no setting is close.
_OUR_PREFIXES = (
    "article_mcp_", "embedding_", "semantic_", "ollama_", "openai_", "database_", "chunk_",
    "hnsw_", "bm25_", "search_", "http_", "auth_", "log_",
)  # fmt: skip
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SettingLine(BaseModel):
    """One setting as `check config` shows it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="the environment variable")
    value: str = Field(description="the value in effect; secrets masked")
    source: Source
    problem: str | None = None


class ConfigReport(BaseModel):
    """Every setting, the problems that stop article-mcp, and warnings that do not."""

    model_config = ConfigDict(frozen=True)

    env_file: str = Field(description="the .env file read (relative to the working directory)")
    env_file_found: bool
    settings: list[SettingLine]
    problems: list[str] = Field(description="what makes the settings invalid: every command refuses to run")
    warnings: list[str] = Field(description="valid, but probably not what was meant")

    @property
    def ok(self) -> bool:
        """True when the settings validate."""
        return not self.problems


def config_report(env_file: Path = Path(".env")) -> ConfigReport:
    """Read the settings as `load_settings` does and describe each one."""
    environment = EnvSettingsSource(Settings).env_vars
    dotenv: Mapping[str, str | None] = {}
    if env_file.is_file():
        dotenv = DotEnvSettingsSource(Settings, env_file=env_file).env_vars
    problems: dict[str, str] = {}
    settings: Settings | None = None
    try:
        settings = Settings(_env_file=env_file if env_file.is_file() else None)
    except ValidationError as exc:
        problems = _problems_by_name(exc)
    lines = [_line(name, settings, environment, dotenv, problems) for name in Settings.model_fields]
    warnings = _unknown_names(environment, "environment") + _unknown_names(dotenv, str(env_file))
    if settings is not None:
        warnings += _warnings(settings)
    return ConfigReport(
        env_file=str(env_file),
        env_file_found=env_file.is_file(),
        settings=lines,
        problems=list(problems.values()),
        warnings=warnings,
    )


def _problems_by_name(exc: ValidationError) -> dict[str, str]:
    # describe_validation_error starts each line with the variable's name.
    lines = describe_validation_error(exc).split("; ")
    return {line.split(":", 1)[0].lower(): line for line in lines}


def _line(
    name: str,
    settings: Settings | None,
    environment: Mapping[str, str | None],
    dotenv: Mapping[str, str | None],
    problems: dict[str, str],
) -> SettingLine:
    source: Source = "environment" if name in environment else ".env" if name in dotenv else "default"
    if settings is not None:
        value = getattr(settings, name)
    elif source == "default":
        value = Settings.model_fields[name].get_default(call_default_factory=True)
    else:
        value = (environment if source == "environment" else dotenv)[name]
    return SettingLine(
        name=name.upper(), value=_shown(name.upper(), value), source=source, problem=problems.get(name)
    )


def _shown(name: str, value: Any) -> str:
    if value is None:
        return "(not set)"
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if name == "DATABASE_URL":
        return redact_url(str(value))
    if name in SECRET_SETTINGS:
        return "********" if value else "(empty)"
    return str(value)


def _unknown_names(variables: Mapping[str, str | None], where: str) -> list[str]:
    warnings = []
    for name in sorted(set(variables) - set(Settings.model_fields)):
        close = difflib.get_close_matches(name, Settings.model_fields, n=1, cutoff=0.85)
        if close:
            warnings.append(f"{name.upper()} (in {where}) is not a setting: did you mean {close[0].upper()}?")
        elif name.startswith(_OUR_PREFIXES):
            warnings.append(f"{name.upper()} (in {where}) is not a setting of article-mcp: a typo?")
    return warnings


def _warnings(settings: Settings) -> list[str]:
    warnings = []
    if settings.embedding_queue_enabled and settings.embedding_concurrent_workers == 0:
        warnings.append(
            "EMBEDDING_CONCURRENT_WORKERS=0: `serve` runs no worker; without an `article-mcp worker` "
            "process nothing is embedded"
        )
    if settings.auth_token is None and settings.http_host not in _LOOPBACK:
        warnings.append(
            f"AUTH_TOKEN is not set and HTTP_HOST={settings.http_host}: only access tokens get in, and "
            "`serve --transport http` refuses to start until one exists (`article-mcp tokens create`)"
        )
    if not settings.semantic_search_enabled:
        warnings.append("SEMANTIC_SEARCH_ENABLED=false: nothing is embedded and semantic search is off")
    return warnings
