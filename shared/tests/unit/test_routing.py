"""An id segment never matches a sibling route's name, so each path keeps its own methods."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from mercato_shared.routing import register_id_segment


async def test_a_sibling_keeps_its_own_methods() -> None:
    register_id_segment("test_thing_id", siblings=("lookup", "a.b"))
    app = FastAPI()

    @app.post("/things/lookup")
    async def lookup() -> str:
        return "lookup"

    @app.get("/things/{thing_id:test_thing_id}")
    async def read(thing_id: int) -> int:
        return thing_id

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/things/7")).json() == 7
        assert (await client.post("/things/lookup")).json() == "lookup"
        refused = await client.get("/things/lookup")
        assert (refused.status_code, refused.headers["allow"]) == (405, "POST")
        assert (await client.get("/things/lookupx")).status_code == 422  # the id route's
        assert (await client.get("/things/a.b")).status_code == 404  # a sibling, no GET route
        assert (await client.get("/things/axb")).status_code == 422  # the dot is literal
