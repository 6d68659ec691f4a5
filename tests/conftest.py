import pytest


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
