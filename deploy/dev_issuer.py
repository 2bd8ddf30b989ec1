"""A local OIDC token issuer for development, the demo and the tests: a signing key, its JWKS, tokens.

The services check its tokens exactly as they check a real issuer's (`shared.auth`): the JWKS is a
file they read through a file:// URL, which is the only difference from production, where
`AUTH_JWKS_URL` names the issuer's https endpoint. Never used with GENDAN_ENV=production (the
services refuse a non-https JWKS there).
"""

import argparse
import hashlib
import json
import time
from collections.abc import Iterable
from pathlib import Path
from uuid import uuid4

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://gendan.local/dev-issuer"
AUDIENCE = "gendan"


class DevIssuer:
    """One RSA signing key, kept in `folder` (so tokens stay valid across restarts of the services)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        key_file = folder / "dev-issuer-key.pem"
        if key_file.exists():
            self.key = jwt.algorithms.RSAAlgorithm.from_jwk(json.loads(key_file.read_text()))
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key_file.write_text(RSAAlgorithm.to_jwk(self.key))
            key_file.chmod(0o600)
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))  # type: ignore[union-attr]
        self.kid = "dev-" + hashlib.sha256(public["n"].encode()).hexdigest()[:16]  # the same in every process
        self.jwks_file = folder / "jwks.json"
        self.jwks_file.write_text(json.dumps({"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}))

    @property
    def env(self) -> dict[str, str]:
        """What a service needs to check this issuer's tokens."""
        return {"AUTH_MODE": "oidc", "AUTH_ISSUER": ISSUER, "AUTH_AUDIENCE": AUDIENCE, "AUTH_JWKS_URL": self.jwks_url}

    @property
    def jwks_url(self) -> str:
        return self.jwks_file.resolve().as_uri()

    def token(self, subject: str, roles: Iterable[str], *, ttl_seconds: int = 12 * 3600, **claims: object) -> str:
        """A signed access token for `subject` with `roles`."""
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "preferred_username": subject,
            "roles": list(roles),
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": uuid4().hex,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": self.kid})  # type: ignore[arg-type]

    def headers(self, subject: str = "dev.supervisor", roles: Iterable[str] = ("supervisor",)) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject, roles)}"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print a development token (for curl and the console).")
    parser.add_argument("--folder", type=Path, default=Path(".gendan"), help="where the dev issuer keeps its key")
    parser.add_argument("--as", dest="subject", default="dev.merchandiser")
    parser.add_argument("--role", action="append", default=None, help="repeatable; default: merchandiser")
    args = parser.parse_args(argv)
    print(DevIssuer(args.folder).token(args.subject, args.role or ["merchandiser"]))


if __name__ == "__main__":
    main()
