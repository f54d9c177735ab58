"""A fake of the catalog API checkout calls: `GET /products/{id}` (404 for an unknown id).

Twenty products, priced in euros, dollars and pounds in turn, so a quote in one currency
of products in others needs FX rates, and a cart of euro products in euros does not.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from fastapi import FastAPI
from fastapi.responses import JSONResponse

CURRENCIES: Final = ("EUR", "USD", "GBP")
CATEGORIES: Final = ("kitchen", "garden", "books", "toys")


def product(product_id: int) -> dict[str, Any]:
    return {
        "id": product_id,
        "sku": f"FAKE-{product_id:04d}",
        "name": f"Product {product_id}",
        "price": str(Decimal(5 + product_id) + Decimal("0.90")),
        "currency": CURRENCIES[product_id % len(CURRENCIES)],
        "category": CATEGORIES[product_id % len(CATEGORIES)],
        "stock": 100,
    }


PRODUCTS: Final = {n: product(n) for n in range(1, 21)}


def eur_product_ids() -> list[int]:
    return [pid for pid, item in PRODUCTS.items() if item["currency"] == "EUR"]


def fake_catalog() -> FastAPI:
    app = FastAPI()

    @app.get("/products/{product_id}")
    async def read(product_id: int) -> JSONResponse:
        if product_id not in PRODUCTS:
            error = {"code": "not_found", "message": f"No product {product_id}."}
            return JSONResponse({"error": error}, status_code=404)
        return JSONResponse(PRODUCTS[product_id])

    return app
