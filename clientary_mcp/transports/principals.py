"""Principals of the network server: who may call it, with which Clientary account and which tools.

The principals file is JSON::

    {"principals": [
      {"name": "alice", "token_sha256": "<hex>", "domain": "acme", "api_token_env": "ACME_CLIENTARY_TOKEN",
       "read_only": false, "toolsets": ["clients", "invoices"], "include": [], "exclude": [],
       "rate_limit": "60/min"}
    ]}

Bearer tokens are kept only as SHA-256 hashes, and Clientary tokens only by the name of the environment
variable holding them, so the file holds no secret in clear. Everything is validated when the server
starts; `clientary-mcp principals add` creates entries.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigError, Settings, load_settings
from ..safety.policy import Policy, PolicyError
from .ratelimit import RateLimit
from ..tools import ToolSpec

PRINCIPALS_ENV = "CLIENTARY_MCP_PRINCIPALS"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYS = {"name", "token_sha256", "domain", "base_url", "sandbox", "api_token_env", "read_only", "toolsets",
         "include", "exclude", "rate_limit"}
# Account settings that are not per principal (timeouts, retries) come from the server's environment.
_SHARED_SETTINGS = ("CLIENTARY_TIMEOUT", "CLIENTARY_CONNECT_TIMEOUT", "CLIENTARY_MAX_RETRIES",
                    "CLIENTARY_RETRY_BUDGET", "CLIENTARY_PAGE_CONCURRENCY", "CLIENTARY_MAX_RECORDS")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "cmcp_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class PrincipalPolicy(Policy):
    """A principal's own policy under the server's (which stays a ceiling), with errors that say so."""

    principal: str = ""
    ceiling: Policy | None = None

    def why_disabled(self, spec: ToolSpec) -> str | None:
        if self.ceiling is not None:
            reason = self.ceiling.why_disabled(spec)
            if reason:
                return reason
        who = f"principal '{self.principal}'"
        if self.read_only and spec.kind != "read":
            return f"Tool {spec.name} is disabled: {who} is read-only. Ask the server's operator for write access."
        if spec.name in self.exclude:
            return f"Tool {spec.name} is disabled: it is excluded for {who} in the principals file."
        if self.toolsets and spec.toolset not in self.toolsets and spec.name not in self.include:
            return (f"Tool {spec.name} is disabled: its toolset '{spec.toolset}' is not enabled for {who} "
                    "in the principals file.")
        return None


@dataclass(frozen=True)
class PrincipalSpec:
    name: str
    token_hashes: tuple[str, ...]
    policy: Policy  # the principal's own; see PrincipalPolicy for the effective one
    domain: str | None = None
    base_url: str | None = None
    sandbox: bool = False
    api_token_env: str | None = None
    rate_limit: RateLimit | None | str = "inherit"  # "inherit": the server-wide CLIENTARY_MCP_RATE_LIMIT

    @property
    def own_account(self) -> bool:
        """False when the principal acts with the server's own account (CLIENTARY_DOMAIN / --sandbox)."""
        return bool(self.domain or self.base_url or self.sandbox)

    def effective_policy(self, ceiling: Policy) -> PrincipalPolicy:
        p = self.policy
        return PrincipalPolicy(p.read_only, p.toolsets, p.include, p.exclude, principal=self.name, ceiling=ceiling)

    def settings(self, env: Mapping[str, str]) -> Settings:
        """Clientary settings for a principal with its own (non-sandbox) account; raises ConfigError."""
        assert self.api_token_env is not None
        token = env.get(self.api_token_env, "").strip()
        if not token:
            raise ConfigError(f"principal '{self.name}': environment variable {self.api_token_env} "
                              "(its api_token_env) is not set")
        account = {"CLIENTARY_API_TOKEN": token}
        if self.base_url:
            account["CLIENTARY_BASE_URL"] = self.base_url
        else:
            account["CLIENTARY_DOMAIN"] = self.domain or ""
        shared = {k: env[k] for k in _SHARED_SETTINGS if k in env}
        try:
            return load_settings({**shared, **account})
        except ConfigError as exc:
            message = str(exc).replace("CLIENTARY_API_TOKEN", self.api_token_env)
            if self.base_url:
                message = message.replace("CLIENTARY_BASE_URL", "base_url")
            raise ConfigError(f"principal '{self.name}': {message.replace('CLIENTARY_DOMAIN', 'domain')}") from None


def _names(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ConfigError(f"{where} must be a list of names")


def parse_entry(entry: Any, index: int) -> PrincipalSpec:
    if not isinstance(entry, dict):
        raise ConfigError(f"entry {index + 1} must be an object")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"entry {index + 1}: name must be 1-64 letters, digits or _.@- (got {str(name)[:40]!r})")
    where = f"principal '{name}'"
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    raw_hashes = entry.get("token_sha256")
    hashes = [raw_hashes] if isinstance(raw_hashes, str) else raw_hashes
    if not isinstance(hashes, list) or not hashes or not all(isinstance(h, str) and _HEX64.match(h) for h in hashes):
        raise ConfigError(f"{where}: token_sha256 must be the 64-character lowercase hex SHA-256 of its bearer "
                          "token (or a list of them); create entries with `clientary-mcp principals add`")
    sandbox = entry.get("sandbox", False)
    if not isinstance(sandbox, bool) or not isinstance(entry.get("read_only", False), bool):
        raise ConfigError(f"{where}: sandbox and read_only must be true or false")
    accounts = [k for k in ("domain", "base_url") if entry.get(k) is not None] + (["sandbox"] if sandbox else [])
    if len(accounts) > 1:
        raise ConfigError(f"{where}: give only one of domain, base_url and sandbox (got {', '.join(accounts)})")
    token_env = entry.get("api_token_env")
    if token_env is not None and (not isinstance(token_env, str) or not _ENV_NAME.match(token_env)):
        raise ConfigError(f"{where}: api_token_env must name an environment variable, e.g. ACME_CLIENTARY_TOKEN")
    if accounts and accounts[0] != "sandbox" and token_env is None:
        raise ConfigError(f"{where}: with {accounts[0]}, set api_token_env to the environment variable holding "
                          "its Clientary API token")
    for key in ("domain", "base_url"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise ConfigError(f"{where}: {key} must be a string")
    try:
        policy = Policy.build(
            read_only=entry.get("read_only", False),
            toolsets=_names(entry.get("toolsets"), f"{where}: toolsets"),
            include=_names(entry.get("include"), f"{where}: include"),
            exclude=_names(entry.get("exclude"), f"{where}: exclude"),
            labels={k: f"{where} {k}" for k in ("toolsets", "include", "exclude")},
        )
    except PolicyError as exc:
        raise ConfigError(str(exc)) from None
    limit: RateLimit | None | str = "inherit"
    if "rate_limit" in entry:
        if not isinstance(entry["rate_limit"], str):
            raise ConfigError(f"{where}: rate_limit must be a string such as \"60/min\" or \"off\"")
        limit = RateLimit.parse(entry["rate_limit"], f"{where}: rate_limit")
    return PrincipalSpec(name=name, token_hashes=tuple(hashes), policy=policy, domain=entry.get("domain"),
                         base_url=entry.get("base_url"), sandbox=sandbox, api_token_env=token_env, rate_limit=limit)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{PRINCIPALS_ENV} / --principals: {path} does not exist "
                          "(create it with `clientary-mcp principals add NAME`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{PRINCIPALS_ENV} / --principals: cannot read {path} ({type(exc).__name__})") from None
    except ValueError as exc:
        raise ConfigError(f"principals file {path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("principals"), list):
        raise ConfigError(f"principals file {path} must be an object with a \"principals\" list")
    return data


def load_principals(path: str | Path) -> list[PrincipalSpec]:
    """Parse and validate the file; ConfigError (one line, naming the file) on any problem."""
    path = Path(path).expanduser()
    data = _read(path)
    specs: list[PrincipalSpec] = []
    seen_names: set[str] = set()
    seen_hashes: set[str] = set()
    try:
        for index, entry in enumerate(data["principals"]):
            spec = parse_entry(entry, index)
            if spec.name in seen_names:
                raise ConfigError(f"principal '{spec.name}' appears twice")
            if seen_hashes & set(spec.token_hashes):
                raise ConfigError(f"principal '{spec.name}': its token is also another principal's")
            seen_names.add(spec.name)
            seen_hashes.update(spec.token_hashes)
            specs.append(spec)
    except ConfigError as exc:
        raise ConfigError(f"principals file {path}: {exc}") from None
    if not specs:
        raise ConfigError(f"principals file {path} lists no principals; add one with `clientary-mcp principals add`")
    return specs


class Directory:
    """Finds the principal a bearer token belongs to."""

    def __init__(self, entries: list[tuple[tuple[str, ...], Any]]):
        self._entries = [(h.encode(), who) for hashes, who in entries for h in hashes]

    def lookup(self, token: str) -> Any | None:
        digest = hash_token(token).encode()
        found = None
        for known, who in self._entries:  # no early exit: the time taken does not depend on which matched
            if hmac.compare_digest(digest, known):
                found = who
        return found


# ---------------------------------------------------------------------------------------------
# `clientary-mcp principals add|list|remove`


def _parser() -> argparse.ArgumentParser:
    from ..cli.parser import Parser  # usage errors in one line, like every other command

    p = Parser(prog="clientary-mcp principals", description="Manage the principals file of the network server.")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    file_help = f"principals file (default: ${PRINCIPALS_ENV} or ./principals.json)"

    add = sub.add_parser("add", help="add a principal and print its new bearer token (once)")
    add.add_argument("name", help="who it is, e.g. alice or ci-bot (1-64 letters, digits or _.@-)")
    add.add_argument("--file", help=file_help)
    account = add.add_mutually_exclusive_group()
    account.add_argument("--domain", help="its Clientary account subdomain")
    account.add_argument("--base-url", help="its Clientary server URL")
    account.add_argument("--sandbox", action="store_true", help="a demo principal with its own sandbox")
    add.add_argument("--token-env", help="environment variable holding its Clientary API token (with --domain "
                                         "or --base-url)")
    add.add_argument("--read-only", action="store_true", help="only the read tools for this principal")
    add.add_argument("--toolsets", help="comma-separated toolsets")
    add.add_argument("--include", help="comma-separated tool names to add")
    add.add_argument("--exclude", help="comma-separated tool names to remove")
    add.add_argument("--rate-limit", help="e.g. 60/min, or off (default: the server's CLIENTARY_MCP_RATE_LIMIT)")

    for action, text in (("list", "show principals (never tokens)"), ("remove", "remove a principal")):
        a = sub.add_parser(action, help=text)
        if action == "remove":
            a.add_argument("name", help="the principal to remove")
        a.add_argument("--file", help=file_help)
    return p


def _file(args: argparse.Namespace) -> Path:
    return Path(args.file or os.environ.get(PRINCIPALS_ENV) or "principals.json").expanduser()


def _write(path: Path, data: dict[str, Any]) -> None:
    """Write atomically; a new file is created readable by its owner only."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _add(args: argparse.Namespace) -> int:
    path = _file(args)
    data = _read(path) if path.exists() else {"principals": []}
    names = {e.get("name") for e in data["principals"] if isinstance(e, dict)}
    if args.name in names:
        raise ConfigError(f"principal '{args.name}' already exists in {path}; remove it first to replace it")
    if args.token_env and not (args.domain or args.base_url):
        raise ConfigError("--token-env names the token of the principal's own account: give that account with "
                          "--domain or --base-url (without them the principal uses the server's account)")
    token = new_token()
    entry: dict[str, Any] = {"name": args.name, "token_sha256": hash_token(token)}
    if args.domain:
        entry["domain"] = args.domain
    elif args.base_url:
        entry["base_url"] = args.base_url
    elif args.sandbox:
        entry["sandbox"] = True
    if args.token_env:
        entry["api_token_env"] = args.token_env
    if args.read_only:
        entry["read_only"] = True
    for key in ("toolsets", "include", "exclude"):
        values = _names(getattr(args, key), key)
        if values:
            entry[key] = values
    if args.rate_limit:
        entry["rate_limit"] = args.rate_limit
    spec = parse_entry(entry, len(data["principals"]))  # the same checks as at start
    if spec.own_account and not spec.sandbox:
        # Catch a mistyped domain now rather than when the server starts.
        spec.settings({spec.api_token_env or "": "placeholder-token"})
    data["principals"].append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, data)
    print(token)
    print(f"Added principal '{args.name}' to {path}. Its bearer token went to standard output: give it to that "
          "MCP client as `Authorization: Bearer <token>`. Only its hash is stored; it cannot be shown again.",
          file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    for spec in load_principals(_file(args)):
        if spec.sandbox:
            account = "own sandbox"
        elif spec.own_account:
            account = f"{spec.domain or spec.base_url} (token from ${spec.api_token_env})"
        else:
            account = "the server's account"
        limit = spec.rate_limit
        rate = "server default" if limit == "inherit" else (limit.describe() if isinstance(limit, RateLimit) else "none")
        print(f"{spec.name}: {account}; {spec.policy.describe()}; rate limit: {rate}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    path = _file(args)
    data = _read(path)
    kept = [e for e in data["principals"] if not (isinstance(e, dict) and e.get("name") == args.name)]
    if len(kept) == len(data["principals"]):
        raise ConfigError(f"no principal '{args.name}' in {path}")
    data["principals"] = kept
    _write(path, data)
    print(f"Removed principal '{args.name}' from {path}; its token stops working when the server reloads the file (SIGHUP) or restarts.",
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"add": _add, "list": _list, "remove": _remove}[args.action](args)
    except ConfigError as exc:
        print(f"clientary-mcp principals: error: {exc}", file=sys.stderr)
        return 2
