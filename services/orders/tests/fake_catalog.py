"""A fake of the catalog API orders calls: stock reservations, behind a `service` token.

`POST /reservations` takes the stock of every line or of none (201; the same id again is
200 with the same lines, 409 `reservation_conflict` once released; 409 `unknown_product`,
409 `out_of_stock`); `DELETE /reservations/{id}` gives it back once (204). Answers are in
Mercato's error shape, so orders' client reads them as it reads catalog's. A test adds the
products and reads their stock directly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mercato_shared.testing.fakes import ServiceCaller


class Line(BaseModel):
    product_id: int
    quantity: int = Field(gt=0)


class ReservationIn(BaseModel):
    id: uuid.UUID
    lines: list[Line] = Field(min_length=1)


@dataclass
class Product:
    sku: str
    name: str
    price: Decimal
    currency: str
    stock: int


@dataclass
class Reservation:
    lines: list[dict[str, Any]]
    released: bool = False


def conflict(code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=409)


@dataclass
class FakeCatalog:
    products: dict[int, Product] = field(default_factory=dict)
    reservations: dict[uuid.UUID, Reservation] = field(default_factory=dict)

    def add_product(
        self, sku: str, stock: int = 100, price: str = "10.00", currency: str = "EUR"
    ) -> int:
        product_id = len(self.products) + 1
        self.products[product_id] = Product(sku, f"Product {sku}", Decimal(price), currency, stock)
        return product_id

    def stock(self, product_id: int) -> int:
        return self.products[product_id].stock

    def reserve(self, body: ReservationIn) -> JSONResponse:
        held = self.reservations.get(body.id)
        if held is not None:
            if held.released:
                return conflict("reservation_conflict", "This reservation was released.")
            return JSONResponse({"id": str(body.id), "lines": held.lines}, status_code=200)
        unknown = [line.product_id for line in body.lines if line.product_id not in self.products]
        if unknown:
            return conflict("unknown_product", f"Unknown product(s) {unknown}.")
        short = [
            line.product_id
            for line in body.lines
            if self.products[line.product_id].stock < line.quantity
        ]
        if short:
            return conflict("out_of_stock", f"Not enough stock for product(s) {short}.")
        lines = []
        for line in body.lines:
            product = self.products[line.product_id]
            product.stock -= line.quantity
            lines.append(
                {
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                    "unit_price": str(product.price),
                    "currency": product.currency,
                    "name": product.name,
                }
            )
        self.reservations[body.id] = Reservation(lines)
        return JSONResponse({"id": str(body.id), "lines": lines}, status_code=201)

    def release(self, reservation_id: uuid.UUID) -> None:
        held = self.reservations.get(reservation_id)
        if held is None or held.released:
            return
        held.released = True
        for line in held.lines:
            self.products[line["product_id"]].stock += line["quantity"]

    @cached_property
    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/reservations")
        async def reserve(_caller: ServiceCaller, body: ReservationIn) -> JSONResponse:
            return self.reserve(body)

        @app.delete("/reservations/{reservation_id}", status_code=204)
        async def release(_caller: ServiceCaller, reservation_id: uuid.UUID) -> Response:
            self.release(reservation_id)
            return Response(status_code=204)

        return app
