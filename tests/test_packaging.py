"""Release metadata checked against what others publish: server.json against the MCP Registry's schema,
the bundle with the official `mcpb` tool, and the Docker image's pins against the package's requirements."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest
from cli_support import ROOT, cli
from external import js_package, node
from mcp import Client, StdioServerParameters

from clientary_mcp import __version__
from clientary_mcp.tools import REGISTRY

SCHEMA = ROOT / "tests" / "data" / "server.schema.2025-12-11.json"  # source noted in tests/data/README.md


def _server() -> dict:
    return json.loads((ROOT / "server.json").read_text())


def test_server_json_is_valid_against_the_registry_schema():
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(_server()), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    assert _server()["$schema"] == schema["$id"]


def test_server_json_matches_the_package():
    server = _server()
    assert server["version"] == __version__
    pypi = next(p for p in server["packages"] if p["registryType"] == "pypi")
    assert pypi["identifier"] == "clientary-mcp" and pypi["version"] == __version__ and pypi["runtimeHint"] == "uvx"
    oci = next(p for p in server["packages"] if p["registryType"] == "oci")
    assert oci["identifier"].endswith(f":{__version__}")
    for package in server["packages"]:
        secrets = {v["name"] for v in package["environmentVariables"] if v.get("isSecret")}
        assert "CLIENTARY_API_TOKEN" in secrets
        assert all(name.startswith("CLIENTARY_") for name in (v["name"] for v in package["environmentVariables"]))
    # The registry checks ownership of a PyPI package by this line in its description (the README).
    assert f"mcp-name: {server['name']}" in (ROOT / "README.md").read_text()


def test_the_docker_constraints_pin_exactly_the_runtime_closure():
    sys.path.insert(0, str(ROOT / "tests"))
    from lock import closure, key

    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[key(name)] = version.strip()
    needed = closure()
    assert sorted(pins) == sorted(needed), "regenerate with: python tests/lock.py > constraints.txt"
    unmet = [f"{name}=={pins[name]} does not satisfy {req}" for name, reqs in needed.items() for req in reqs
             if not req.specifier.contains(pins[name], prereleases=True)]
    assert unmet == []
    assert metadata.version("clientary-mcp") == __version__  # the installed metadata is this checkout's


def _bundle(tmp_path: Path) -> tuple[Path, dict]:
    out = tmp_path / "clientary.mcpb"
    proc = cli(tmp_path, "bundle", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(out) as zf:
        return out, json.loads(zf.read("manifest.json"))


def test_the_bundle_asks_for_the_account_and_offers_the_policy(tmp_path):
    _, manifest = _bundle(tmp_path)
    config = manifest["user_config"]
    assert config["api_token"]["sensitive"] is True and config["api_token"]["required"] is True
    assert config["domain"]["required"] is True
    assert config["read_only"]["type"] == "boolean" and config["toolsets"]["type"] == "string"
    server = manifest["server"]
    assert server["type"] == "uv" and manifest["manifest_version"] == "0.4" and manifest["version"] == __version__
    env = server["mcp_config"]["env"]
    assert env["CLIENTARY_API_TOKEN"] == "${user_config.api_token}" and env["CLIENTARY_DOMAIN"] == "${user_config.domain}"
    assert [t["name"] for t in manifest["tools"]] == [s.name for s in REGISTRY]


def test_the_official_mcpb_tool_validates_and_packs_the_bundle(tmp_path):
    out, _ = _bundle(tmp_path)
    mcpb = [node(), str(js_package("@anthropic-ai/mcpb") / "dist" / "cli" / "cli.js")]
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(unpacked)
    validated = subprocess.run([*mcpb, "validate", str(unpacked / "manifest.json")], capture_output=True, text=True,
                               timeout=120)
    assert validated.returncode == 0 and "validation passes" in validated.stdout, validated.stdout + validated.stderr
    packed = subprocess.run([*mcpb, "pack", str(unpacked), str(tmp_path / "repacked.mcpb")], capture_output=True,
                            text=True, timeout=120)
    assert packed.returncode == 0 and (tmp_path / "repacked.mcpb").is_file(), packed.stdout + packed.stderr
    info = subprocess.run([*mcpb, "info", str(out)], capture_output=True, text=True, timeout=120)
    assert info.returncode == 0, info.stdout + info.stderr


def _substitute(value: str, user: dict[str, str], folder: Path) -> str:
    value = value.replace("${__dirname}", str(folder))
    return re.sub(r"\$\{user_config\.(\w+)\}", lambda m: user[m.group(1)], value)


@pytest.mark.anyio
async def test_the_bundle_starts_its_own_copy_of_the_server_as_claude_desktop_would(tmp_path):
    out, manifest = _bundle(tmp_path)
    folder = tmp_path / "installed"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(folder)
    pyproject = (folder / "pyproject.toml").read_text()
    for requirement in metadata.requires("clientary-mcp") or []:
        if "extra ==" not in requirement:
            assert json.dumps(requirement) in pyproject  # uv installs exactly the package's dependencies
    config = manifest["server"]["mcp_config"]
    assert config["command"] == "uv" and config["args"][-1] == manifest["server"]["entry_point"]
    # No uv here: the same entry point with this environment's Python, which has the dependencies.
    user = {"domain": "acme", "api_token": "bundle-test-token-123", "read_only": "true", "toolsets": ""}
    env = {k: _substitute(v, user, folder) for k, v in config["env"].items()}
    env["CLIENTARY_MCP_STATE_DIR"] = str(tmp_path / "state")
    params = StdioServerParameters(command=sys.executable, args=[str(folder / manifest["server"]["entry_point"])],
                                   env=env, cwd=str(tmp_path))
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
    assert len(tools) == sum(1 for s in REGISTRY if s.kind == "read")  # read_only from the user's choice
