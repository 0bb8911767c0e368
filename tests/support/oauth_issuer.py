"""An OAuth issuer for tests: an RSA key of its own, its JWK Set served over real HTTP on
127.0.0.1 (in a thread), and JWTs signed with it (or with a stranger's key).

    with OAuthIssuer() as issuer:
        settings = make_settings(..., **issuer.settings(audience="https://api.example/mcp"))
        token = issuer.token(sub="alice", scope="articles:read")
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KEY_ID = "test-key-1"
JWKS_PATH = "/.well-known/jwks.json"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class OAuthIssuer:
    """A JWKS endpoint on loopback and the issuer that signs with its key."""

    def __init__(self) -> None:
        self.key = new_key()
        self.stranger = new_key()  # signs with the issuer's key id, but is not its key
        self.fetches = 0
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        self._jwks = json.dumps({"keys": [{**jwk, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}).encode()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> OAuthIssuer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    @property
    def url(self) -> str:
        """The issuer's identifier (`iss`)."""
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """The settings that make a server accept this issuer's tokens."""
        return {"oauth_issuer": self.url, "oauth_jwks_url": self.url + JWKS_PATH, **overrides}

    def token(
        self, *, signer: rsa.RSAPrivateKey | None = None, expires_in: float = 300, **claims: Any
    ) -> str:
        """A JWT with these claims (`iss`, `iat`, `exp` filled in unless given), signed RS256."""
        now = int(time.time())
        body = {"iss": self.url, "iat": now, "exp": now + int(expires_in), **claims}
        return jwt.encode(body, signer or self.key, algorithm="RS256", headers={"kid": KEY_ID})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != JWKS_PATH:
                    self.send_error(404)
                    return
                issuer.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(issuer._jwks)))
                self.end_headers()
                self.wfile.write(issuer._jwks)

        return Handler
