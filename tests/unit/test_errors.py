"""The error tree as callers meet it: one line for a person, one exit code per meaning."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from article_mcp import errors
from article_mcp.cli import common
from article_mcp.cli.main import exit_code, run
from article_mcp.errors import (
    ArticleMcpError,
    ConfigError,
    ConflictError,
    DatabaseUnavailableError,
    InsufficientScopeError,
    InvalidInputError,
    LexicalIndexError,
    NotFoundError,
    PermanentProviderError,
    ProviderError,
    ProviderUnreachableError,
    RateLimitedError,
    SemanticUnavailableError,
    TokenRefusedError,
    TransientProviderError,
    UnavailableError,
    VersionConflictError,
    describe,
)
from tests.conftest import cli_env, run_cli

# One instance of every error class with the exit code a command raising it ends with.
EXAMPLES: list[tuple[ArticleMcpError, int]] = [
    (ArticleMcpError("demo: embedding 'a' failed"), common.EXIT_FAILURE),
    (InvalidInputError("--workers", "must be between 1 and 64"), common.EXIT_USAGE),
    (NotFoundError("task 12345 does not exist"), common.EXIT_CONFLICT),
    (ConflictError("task 7 is pending: only failed or cancelled tasks are retried"), common.EXIT_CONFLICT),
    (
        VersionConflictError("expected_version: article 'a' is at version 3, not 2", current=3, expected=2),
        common.EXIT_CONFLICT,
    ),
    (ConfigError("CHUNK_SIZE: input should be a valid integer"), common.EXIT_USAGE),
    (UnavailableError("articles not embedded after 600 s"), common.EXIT_UNAVAILABLE),
    (DatabaseUnavailableError("cannot reach the database at postgresql://db/x"), common.EXIT_UNAVAILABLE),
    (SemanticUnavailableError("not_embedded", "nothing has been embedded yet"), common.EXIT_UNAVAILABLE),
    (ProviderError("the provider failed"), common.EXIT_FAILURE),
    (
        TransientProviderError("Ollama answered HTTP 200 with a body that is not JSON"),
        common.EXIT_UNAVAILABLE,
    ),
    (ProviderUnreachableError("cannot reach Ollama at http://127.0.0.1:9"), common.EXIT_UNAVAILABLE),
    (RateLimitedError("rate limiting (HTTP 429)", retry_after=3.0), common.EXIT_UNAVAILABLE),
    (PermanentProviderError("OpenAI refused the credentials (HTTP 401)"), common.EXIT_USAGE),
    (LexicalIndexError(), common.EXIT_FAILURE),
    (TokenRefusedError("ci-bot", "revoked"), common.EXIT_FAILURE),
    (InsufficientScopeError("alice", "articles:read"), common.EXIT_FAILURE),
]


def error_classes() -> set[type[ArticleMcpError]]:
    """Every error class errors.py defines."""
    return {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, ArticleMcpError)
    }


def test_every_error_class_has_an_exit_code_decided_here() -> None:
    assert {type(error) for error, _ in EXAMPLES} == error_classes()


@pytest.mark.parametrize(("error", "code"), EXAMPLES, ids=[type(error).__name__ for error, _ in EXAMPLES])
def test_each_error_ends_a_command_with_its_code(error: ArticleMcpError, code: int) -> None:
    assert exit_code(error) == code


def test_the_exit_codes_are_distinct() -> None:
    codes = {name: value for name, value in vars(common).items() if name.startswith("EXIT_")}
    assert len(set(codes.values())) == len(codes), codes


def test_bad_arguments_exit_with_the_usage_code() -> None:
    with pytest.raises(SystemExit) as exited:
        run(["queue", "recent", "--limit", "0"])
    assert exited.value.code == common.EXIT_USAGE


@pytest.mark.anyio
async def test_a_command_error_is_one_line_on_stderr_and_its_exit_code() -> None:
    result = await run_cli("worker", "--workers", "0", env=cli_env(SEMANTIC_SEARCH_ENABLED="true"))
    assert result.returncode == common.EXIT_USAGE
    assert result.stderr == "article-mcp: invalid input: --workers: must be between 1 and 64\n"


def test_a_semantic_leg_that_cannot_run_says_why_in_its_reason() -> None:
    error = SemanticUnavailableError("disabled", "semantic search is disabled on this server")
    assert error.reason == "disabled"
    assert isinstance(error, UnavailableError)
    assert str(error) == "semantic search is disabled on this server"


def test_ours_read_as_label_and_message() -> None:
    assert describe(NotFoundError("task 7 does not exist")) == "not found: task 7 does not exist"
    assert (
        describe(InvalidInputError("slug", "must not be empty")) == "invalid input: slug: must not be empty"
    )
    assert (
        describe(LexicalIndexError())
        == "error: The lexical index is out of step with the chunks; rebuild it."
    )


def test_an_error_without_text_reads_as_its_type() -> None:
    assert describe(TimeoutError()) == "TimeoutError"
    assert describe(ConnectionResetError("  ")) == "ConnectionResetError"


@given(st.text())
def test_a_foreign_error_reads_as_its_text_or_its_type(text: str) -> None:
    assert describe(OSError(text)) == (text.strip() or "OSError")
