"""A real OpenID provider for the OAuth tests: oidc-provider (tests/js/oidc_fixture.mjs) driven from Python.

No tests here. Tokens come from the provider's own endpoints — client credentials, or the authorization
code flow with PKCE walked through its login and consent pages as a browser would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import subprocess
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from external import JS_DIR, js_package, node
from processes import stop_process

REDIRECT = "http://127.0.0.1/callback"
ALL = "clientary:read clientary:write clientary:delete clientary:send"


class Provider:
    """Both issuers of the fixture ("main", "other"); `resource` is the service's /mcp URL."""

    def __init__(self, workdir: Path, resource: str):
        binary = node()
        js_package("oidc-provider")
        self.resource = resource
        self._err = open(workdir / "oidc.err", "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen([binary, str(JS_DIR / "oidc_fixture.mjs"), json.dumps({"resource": resource})],
                                      cwd=JS_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err)
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(self.popen.stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        if not line or not line[0].strip():
            self.stop()
            raise AssertionError("oidc_fixture did not start:\n" + (workdir / "oidc.err").read_text(errors="replace"))
        self.issuers: dict[str, str] = json.loads(line[0])
        self.main = self.issuers["main"]

    def metadata(self, issuer: str = "main") -> dict[str, Any]:
        return httpx.get(self.issuers[issuer] + "/.well-known/openid-configuration", timeout=10).json()

    def token(self, client: str = "machine", scope: str = ALL, resource: str | None = None,
              issuer: str = "main") -> str:
        answer = httpx.post(self.metadata(issuer)["token_endpoint"], auth=(client, f"{client}-secret"), timeout=10,
                            data={"grant_type": "client_credentials", "scope": scope,
                                  "resource": resource or self.resource})
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def login(self, user: str, scope: str = ALL) -> str:
        """An access token for `user` from the authorization code flow with PKCE (the provider's `app` client)."""
        metadata = self.metadata()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        params = {"client_id": "app", "response_type": "code", "redirect_uri": REDIRECT, "scope": "openid " + scope,
                  "code_challenge": challenge, "code_challenge_method": "S256", "resource": self.resource,
                  "state": secrets.token_urlsafe(8)}
        url = str(httpx.URL(metadata["authorization_endpoint"], params=params))
        redirect = self.authorize(url, user)
        code = parse_qs(urlsplit(redirect).query)["code"][0]
        answer = httpx.post(metadata["token_endpoint"], timeout=10, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier,
            "client_id": "app", "resource": self.resource})
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def authorize(self, url: str, user: str) -> str:
        """What a browser does with an authorization URL: log in as `user`, consent; returns the redirect it ends on."""
        redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        state = parse_qs(urlsplit(url).query).get("state")
        with httpx.Client(timeout=10) as browser:
            page = browser.get(url)
            for _ in range(12):  # login, consent, and the redirects between them
                if page.is_redirect:
                    target = urljoin(str(page.url), page.headers["location"])
                    if target.startswith(redirect_uri):
                        query = parse_qs(urlsplit(target).query)
                        assert query.get("state") == state and query["iss"] == [self.main], target
                        assert "code" in query, target
                        return target
                    page = browser.get(target)
                    continue
                assert page.status_code == 200, page.text[:500]
                action = re.search(r'action="([^"]+)"', page.text)
                prompt = re.search(r'name="prompt" value="([^"]+)"', page.text)
                assert action and prompt, page.text[:500]
                form = {"prompt": prompt.group(1)}
                if form["prompt"] == "login":
                    form |= {"login": user, "password": "any"}
                page = browser.post(urljoin(str(page.url), action.group(1)), data=form)
        raise AssertionError("the authorization flow did not reach the redirect URI")

    def rotate(self, drop: bool = False) -> str:
        answer = httpx.post(self.main + "/_admin/rotate" + ("?drop=1" if drop else ""), timeout=10)
        return answer.json()["kid"]

    def stats(self) -> dict[str, Any]:
        return httpx.get(self.main + "/_admin/stats", timeout=10).json()

    def stop(self) -> None:
        stop_process(self.popen)
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream:
                stream.close()
        self._err.close()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims(token: str) -> dict[str, Any]:
    return json.loads(unb64(token.split(".")[1]))


def header(token: str) -> dict[str, Any]:
    return json.loads(unb64(token.split(".")[0]))


class MemoryStorage:
    """The SDK client's TokenStorage, in memory; may start with a token and client already held."""

    def __init__(self, tokens: Any = None, client: Any = None):
        self.tokens, self.client = tokens, client

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client

    async def set_client_info(self, client_info: Any) -> None:
        self.client = client_info


def sdk_oauth(provider: Provider, server_url: str, user: str, storage: MemoryStorage | None = None) -> Any:
    """The official SDK's OAuth client for `server_url`, whose "browser" signs in as `user` at the provider."""
    import anyio
    from mcp.client.auth import OAuthClientProvider
    from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

    landed: list[str] = []

    async def redirect_handler(url: str) -> None:
        landed.append(await anyio.to_thread.run_sync(provider.authorize, url, user))

    async def callback_handler() -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(landed.pop()).query)
        return AuthorizationCodeResult(code=query["code"][0], state=query.get("state", [None])[0],
                                       iss=query.get("iss", [None])[0])

    metadata = OAuthClientMetadata(client_name="clientary-mcp tests", redirect_uris=[REDIRECT],
                                   grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                                   token_endpoint_auth_method="none")
    return OAuthClientProvider(server_url, metadata, storage or MemoryStorage(), redirect_handler, callback_handler)
