"""The docs pages load their assets from the service itself, under its root path."""

from __future__ import annotations

import re

import httpx
import pytest

from mercato_shared.app import create_app
from mercato_shared.dependencies import NOTHING
from mercato_shared.docs_pages import ASSETS, ASSETS_PATH
from mercato_shared.settings import BaseServiceSettings


@pytest.fixture
async def client() -> httpx.AsyncClient:
    app = create_app(BaseServiceSettings(), title="t", routers=[], dependencies=NOTHING)
    transport = httpx.ASGITransport(app=app, root_path="/api/things")
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_pages_name_only_their_own_assets(client: httpx.AsyncClient, page: str) -> None:
    html = (await client.get(page)).text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls
    for url in urls:
        assert url.startswith(f"/api/things{ASSETS_PATH}/"), url
    assert "/api/things/openapi.json" in html
    assert "https://" not in html


@pytest.mark.parametrize("asset", ASSETS)
async def test_every_asset_is_served(client: httpx.AsyncClient, asset: str) -> None:
    # As uvicorn --root-path passes it: the path with the root path in front.
    response = await client.get(f"/api/things{ASSETS_PATH}/{asset}")
    assert response.status_code == 200
    assert len(response.content) > 1000


async def test_the_oauth2_redirect_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert response.text.count("<script>") == 1
