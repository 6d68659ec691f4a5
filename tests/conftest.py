import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_state_folder(tmp_path_factory):
    """No test writes secrets, stores or logs into the real state folder of whoever runs the suite."""
    folder = tmp_path_factory.mktemp("xdg-state")
    saved = {k: os.environ.get(k) for k in ("XDG_STATE_HOME", "CLIENTARY_MCP_STATE_DIR")}
    os.environ["XDG_STATE_HOME"] = str(folder)
    os.environ["CLIENTARY_MCP_STATE_DIR"] = str(folder / "clientary-mcp")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def anyio_backend():
    return "asyncio"


# Shared by the sandbox tests; each of their modules defines its own `app` (with its own date).
@pytest.fixture
def store(app):
    return app.state.store


@pytest.fixture
async def api(app):
    from clientary_mcp.api import ClientaryClient
    from clientary_mcp.config import Settings
    from clientary_mcp.sandbox import DEMO_TOKEN, SandboxTransport

    client = ClientaryClient(Settings.for_base_url("http://sandbox", DEMO_TOKEN), transport=SandboxTransport(app))
    yield client
    await client.aclose()
