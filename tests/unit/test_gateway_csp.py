"""The gateway's Content-Security-Policy of the docs pages allows exactly what the pages a
service serves load (mercato_shared.docs_pages, served here in process; rendered offline in
Chromium by tests/e2e/test_docs_pages.py)."""

from __future__ import annotations

import asyncio
import re

import httpx

from mercato_shared.app import create_app
from mercato_shared.dependencies import NOTHING
from mercato_shared.docs_pages import ASSETS_PATH
from mercato_shared.settings import BaseServiceSettings
from tests.static.test_gateway_config import csp_for, gateway_text


def _sources(csp: str, directive: str) -> list[str]:
    found = [part.split()[1:] for part in csp.split(";") if part.split()[:1] == [directive]]
    return found[0] if found else []


def docs_page(path: str) -> str:
    """A docs page as a service behind the gateway serves it (root path /api/catalog)."""
    app = create_app(BaseServiceSettings(), title="t", routers=[], dependencies=NOTHING)

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, root_path="/api/catalog")
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.get(path)

    response = asyncio.run(get())
    assert response.status_code == 200
    return response.text


def test_csp_of_the_docs_pages_allows_exactly_what_they_load() -> None:
    for path in ("/docs", "/redoc"):
        html, csp = docs_page(path), csp_for(f"/api/catalog{path}")
        styles = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', html)
        assets = re.findall(r'<script src="([^"]+)"', html) + styles
        assets += re.findall(r'<link rel="shortcut icon" href="([^"]+)"', html)
        # Every asset is this origin's, under the service's prefix: nothing from a CDN.
        assert all(url.startswith(f"/api/catalog{ASSETS_PATH}/") for url in assets), assets
        assert "https://" not in html
        assert _sources(csp, "default-src") == ["'none'"]
        assert "'self'" in _sources(csp, "script-src")
        assert ("'self'" in _sources(csp, "style-src")) == bool(styles)
        assert _sources(csp, "connect-src") == ["'self'"]
        assert _sources(csp, "frame-ancestors") == ["'none'"]
        assert "'unsafe-eval'" not in csp
        assert "'unsafe-inline'" not in _sources(csp, "script-src")
    # The one inline script of Swagger UI and of its OAuth2 redirect: sub_filter gives its
    # tag the CSP's nonce.
    for path in ("/docs", "/docs/oauth2-redirect"):
        assert docs_page(path).count("<script>") == 1
        assert "'nonce-$request_id'" in _sources(csp_for(f"/api/catalog{path}"), "script-src")
    assert "sub_filter '<script>' '<script nonce=\"$request_id\">';" in gateway_text()
    assert "<script>" not in docs_page("/redoc")
