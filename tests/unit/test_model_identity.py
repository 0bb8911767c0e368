"""A model's identity and the settings that rebuild its provider from its registry row."""

from __future__ import annotations

from article_mcp.embeddings.registry import ModelIdentity, ModelRecord, base_url_of, settings_for
from tests.conftest import make_settings


def test_the_identity_of_the_configured_model() -> None:
    settings = make_settings(embedding_provider="ollama", embedding_model="nomic-embed-text")
    identity = ModelIdentity.configured(settings)
    assert str(identity) == "ollama/nomic-embed-text"
    # The family's documented prefixes are part of it: another prefix is another model.
    assert identity.params() == ("ollama", "nomic-embed-text", "search_query: ", "search_document: ")
    assert identity != ModelRecord(1, "ollama", "nomic-embed-text", 768).identity
    prefixes = {"query_prefix": "search_query: ", "document_prefix": "search_document: "}
    record = ModelRecord(1, "ollama", "nomic-embed-text", 768, **prefixes)
    assert identity == record.identity


def test_a_row_rebuilds_its_provider_settings_and_keeps_the_key_from_the_settings() -> None:
    settings = make_settings(
        embedding_provider="ollama",
        embedding_model="new-model",
        ollama_base_url="http://new-host:11434",
        openai_api_key="sk-from-the-settings",
    )
    old = ModelRecord(1, "openai", "text-embedding-3-small", 1536, base_url="http://proxy.internal/v1")
    rebuilt = settings_for(settings, old)
    assert (rebuilt.embedding_provider, rebuilt.embedding_model_name) == ("openai", "text-embedding-3-small")
    assert rebuilt.openai_base_url == base_url_of(rebuilt) == "http://proxy.internal/v1"
    assert rebuilt.openai_api_key is not None
    assert rebuilt.openai_api_key.get_secret_value() == "sk-from-the-settings"
    # The row's prefixes (none), not the settings': a prefix set for the new model stays with it.
    prefixed = settings.model_copy(update={"embedding_query_prefix": "query: "})
    assert settings_for(prefixed, old).instruction_prefixes().query.text == ""
    # The configured provider's own settings are left as they are.
    assert rebuilt.ollama_base_url == "http://new-host:11434"


def test_a_local_model_has_no_base_url() -> None:
    settings = make_settings(embedding_provider="local")
    assert base_url_of(settings) is None
    local = settings_for(settings, ModelRecord(2, "local", "all-MiniLM-L6-v2", 384))
    assert local.embedding_provider == "local"
