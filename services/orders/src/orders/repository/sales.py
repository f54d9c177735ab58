"""SQL for the sales summary a report reads: what the report needs, aggregated by Postgres.

One statement answers the whole summary as JSON (`SalesSummary`), so a report over ten
thousand orders costs this process one row and the report worker no order at all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

# Pairs of products bought in fewer orders than this are noise to the report (its lift).
MIN_PAIR_ORDERS = 2

# `{where}` chooses the orders: the window alone walks (created_at, id); with a user, that
# user's part of it walks (user_id, created_at, id). Days are UTC calendar days. Customers
# rank by spend, ties by user id as text ("C" collation: code point order), the report's
# own ranking. Money leaves as decimal strings (numeric, exact).
_SUMMARY = """
WITH chosen AS MATERIALIZED (
    SELECT id, user_id, currency, total, CAST(created_at AT TIME ZONE 'UTC' AS date) AS day
    FROM orders
    WHERE created_at >= :since AND created_at < :until {where}
), lines AS MATERIALIZED (
    SELECT chosen.id AS order_id, chosen.day, chosen.currency,
           item.product_id, item.quantity, item.unit_price
    FROM chosen JOIN order_items AS item ON item.order_id = chosen.id
), products AS MATERIALIZED (
    SELECT DISTINCT order_id, product_id FROM lines
), totals AS (
    SELECT currency,
           json_agg(json_build_object('total', CAST(total AS text), 'orders', orders)
                    ORDER BY total) AS totals
    FROM (SELECT currency, total, count(*) AS orders FROM chosen GROUP BY currency, total) AS t
    GROUP BY currency
), customers AS (
    SELECT currency,
           json_agg(json_build_object('user_id', user_id, 'orders', orders,
                                      'spend', CAST(spend AS text)) ORDER BY rank) AS ranked
    FROM (
        SELECT currency, user_id, count(*) AS orders, sum(total) AS spend,
               row_number() OVER (
                   PARTITION BY currency
                   ORDER BY sum(total) DESC, CAST(user_id AS text) COLLATE "C"
               ) AS rank
        FROM chosen GROUP BY currency, user_id
    ) AS spenders
    WHERE rank <= :top_customers
    GROUP BY currency
)
SELECT CAST(json_build_object(
    'currencies', coalesce((
        SELECT json_agg(json_build_object(
                   'currency', totals.currency, 'totals', totals.totals,
                   'top_customers', customers.ranked)
               ORDER BY totals.currency COLLATE "C")
        FROM totals JOIN customers USING (currency)), '[]'),
    'days', coalesce((
        SELECT json_agg(json_build_object(
                   'day', day, 'currency', currency, 'orders', orders,
                   'revenue', CAST(revenue AS text))
               ORDER BY day, currency COLLATE "C")
        FROM (SELECT day, currency, count(*) AS orders, sum(total) AS revenue
              FROM chosen GROUP BY day, currency) AS per_day), '[]'),
    'product_days', coalesce((
        SELECT json_agg(json_build_object(
                   'day', day, 'product_id', product_id, 'currency', currency,
                   'orders', orders, 'quantity', quantity, 'revenue', CAST(revenue AS text))
               ORDER BY day, product_id, currency COLLATE "C")
        FROM (SELECT day, product_id, currency, count(DISTINCT order_id) AS orders,
                     sum(quantity) AS quantity, sum(quantity * unit_price) AS revenue
              FROM lines GROUP BY day, product_id, currency) AS per_product_day), '[]'),
    'pairs', coalesce((
        SELECT json_agg(json_build_object('products', json_build_array(a, b), 'orders', orders)
                        ORDER BY a, b)
        FROM (SELECT one.product_id AS a, other.product_id AS b, count(*) AS orders
              FROM products AS one JOIN products AS other
                ON other.order_id = one.order_id AND other.product_id > one.product_id
              GROUP BY one.product_id, other.product_id
              HAVING count(*) >= :min_pair_orders) AS pairs), '[]')
) AS text)
"""
_SHOP: TextClause = text(_SUMMARY.format(where=""))
_ONE_USER: TextClause = text(_SUMMARY.format(where="AND user_id = :user_id"))


class SalesRepository:
    """The sales summary, in the operation's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def summary(
        self, *, since: datetime, until: datetime, user_id: int | None, top_customers: int
    ) -> str:
        """The `SalesSummary` of the orders created in `[since, until)` (of one user), as
        JSON built by Postgres in one statement."""
        params: dict[str, object] = {
            "since": since,
            "until": until,
            "top_customers": top_customers,
            "min_pair_orders": MIN_PAIR_ORDERS,
        }
        statement = _SHOP
        if user_id is not None:
            statement, params["user_id"] = _ONE_USER, user_id
        return str((await self._session.execute(statement, params)).scalar_one())
