"""Settings: every variable article-mcp reads, its default and its rules.

Built once at the entry point (`load_settings`) and passed down; nothing else reads the
environment. Variable names are those of the deployment guide, so operators keep them.
`settings.py` holds the table, `prefixes.py` the instruction prefixes of model families,
`checks.py` the rules beyond types and how a broken one is told.
"""

from article_mcp.config.checks import (
    SECRET_SETTINGS,
    TOKEN_MIN_BITS,
    TOKEN_MIN_DISTINCT,
    describe_validation_error,
    redact_url,
    token_bits,
)
from article_mcp.config.prefixes import InstructionPrefixes, Prefix
from article_mcp.config.settings import (
    DEFAULT_MODELS,
    LogFormat,
    LogLevel,
    PoolMode,
    ProviderName,
    Settings,
    literal_choices,
    load_settings,
)

__all__ = [
    "DEFAULT_MODELS",
    "SECRET_SETTINGS",
    "TOKEN_MIN_BITS",
    "TOKEN_MIN_DISTINCT",
    "InstructionPrefixes",
    "LogFormat",
    "LogLevel",
    "PoolMode",
    "Prefix",
    "ProviderName",
    "Settings",
    "describe_validation_error",
    "literal_choices",
    "load_settings",
    "redact_url",
    "token_bits",
]
