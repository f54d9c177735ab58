"""The baseline: the classic FastAPI hello world, run as Mercato's services are run.

`uvicorn bench.hello:app --workers 2 --loop uvloop --http httptools --no-access-log`: what the
same machine does for a route that reads a path parameter and returns a small dict, with no
gateway, database, cache or telemetry. The product read is compared with it.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/items/{item_id}")
async def read_item(item_id: int) -> dict[str, object]:
    return {"item_id": item_id, "name": "hello", "price": 9.99}
