"""The OAuth and public-URL settings: what turns OAuth on, the rules of each value, and the
URLs derived from them."""

from __future__ import annotations

import pytest

from article_mcp.config import load_settings
from article_mcp.errors import ConfigError
from article_mcp.server.http import answered_hosts, check_bind_address, transport_security
from article_mcp.server.oauth import resource_metadata_url, resource_url

ISSUER = {
    "oauth_issuer": "https://auth.example.com/realms/team",
    "oauth_jwks_url": "https://auth.example.com/jwks",
}


@pytest.mark.parametrize(
    "half", [{"oauth_issuer": ISSUER["oauth_issuer"]}, {"oauth_jwks_url": ISSUER["oauth_jwks_url"]}]
)
def test_oauth_needs_both_the_issuer_and_its_keys(half: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="OAUTH_ISSUER and OAUTH_JWKS_URL: set both"):
        load_settings(_env_file=None, **half)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("oauth_read_scope", "articles read"),
        ("oauth_write_scope", 'say"what'),
        ("oauth_issuer", "auth.example.com"),
        ("http_public_url", "https://articles.example.com/?x=1"),
    ],
)
def test_a_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name.upper()):
        load_settings(_env_file=None, **{**ISSUER, name: value})


def test_the_issuer_is_kept_exactly_and_the_resource_follows_the_public_url() -> None:
    configured = load_settings(_env_file=None, **ISSUER, http_public_url="https://kb.example.com/")
    assert configured.oauth_enabled and configured.oauth_issuer == ISSUER["oauth_issuer"]
    assert resource_url(configured) == "https://kb.example.com/mcp"
    assert (
        resource_metadata_url(configured) == "https://kb.example.com/.well-known/oauth-protected-resource/mcp"
    )
    unset = load_settings(_env_file=None, http_host="::1", http_port=9000)
    assert not unset.oauth_enabled and resource_url(unset) == "http://[::1]:9000/mcp"


def test_oauth_alone_may_serve_beyond_this_machine() -> None:
    check_bind_address("0.0.0.0", load_settings(_env_file=None, **ISSUER))
    with pytest.raises(ConfigError, match="HTTP_HOST"):
        check_bind_address("0.0.0.0", load_settings(_env_file=None))


def test_the_public_url_s_host_is_one_the_server_answers_to() -> None:
    configured = load_settings(
        _env_file=None, http_public_url="https://KB.example.com:8443/x", http_allowed_hosts="a.b"
    )
    assert answered_hosts(configured) == "a.b,kb.example.com"
    allowed = transport_security("127.0.0.1", answered_hosts(configured)).allowed_hosts
    assert "kb.example.com:*" in allowed and "a.b" in allowed
    assert answered_hosts(load_settings(_env_file=None)) == ""
