"""`InternalClient`: one Mercato service calling another over HTTP, the one way it is done.

A typed client of another service (orders' `CatalogClient`, the worker's `OrdersClient`,
checkout's `CatalogClient`) holds an `InternalClient` for that service and says only what
its calls mean; everything else is here:

* the base URL, and the service's own token (`ServiceTokens`, client credentials at
  identity) when the callee wants one: a 401 makes it forget the token, fetch a new one and
  send once more, in the same attempt;
* a per-call timeout and an overall deadline: every attempt runs through an `OutboundCaller`
  (tenacity, the one retry library), which starts no attempt and sleeps no backoff that
  would end past the `Deadline`, and retries only calls the caller marks idempotent, only on
  faults of the callee (connect errors, timeouts, 5xx, 429) or a transient token failure;
  with breakers (checkout), an open one refuses the call at once;
* the answer is read whole inside the call and returned as a `Reply` (status, bytes,
  headers) when it says something about the request (2xx, 4xx); a
  callee that stays unreachable, slow or failing becomes `UpstreamUnavailableError`: a 503
  `dependency_unavailable` with `Retry-After`, in the one error shape, never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import aiohttp

from mercato_shared.errors import DependencyUnavailableError
from mercato_shared.http import Params, send
from mercato_shared.reply import Reply
from mercato_shared.resilience import (
    CallPolicy,
    CircuitOpenError,
    Deadline,
    OutboundCaller,
    Outcome,
    StatusError,
    classify,
    is_fault_status,
)
from mercato_shared.service_tokens import ServiceTokens, TokenUnavailableError

JsonBody = Mapping[str, Any] | list[Any]

__all__ = ["InternalClient", "JsonBody", "Params", "UpstreamUnavailableError", "error_of"]

# What a failed call can end with, once its retries are spent (a `StatusError` here is a 5xx
# or 429, raised by `_attempt`; aiohttp's timeouts are `TimeoutError`s).
_DEPENDENCY_FAILURES: Final = (
    TimeoutError,
    aiohttp.ClientError,
    StatusError,
    CircuitOpenError,
)


class UpstreamUnavailableError(DependencyUnavailableError):
    """The called service stayed unreachable, slow or failing: 503 for the caller's request.

    `outcome` says how the last attempt ended (timeout, error, circuit_open). Another try
    later may help: a background job retries it, a request answers 503 with `Retry-After`.
    """

    def __init__(self, service: str, cause: BaseException) -> None:
        super().__init__(f"The {service} service is unavailable.")
        self.service = service
        self.outcome: Outcome = classify(cause)


class InternalClient:
    """Calls to one service: `await client.request("GET", "/products/1", idempotent=True)`."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        caller: OutboundCaller,
        *,
        service: str,
        base_url: str,
        timeout_seconds: float,
        deadline_seconds: float,
        tokens: ServiceTokens | None = None,
    ) -> None:
        self._http = http
        self._caller = caller
        self.service = service
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout_seconds
        self._deadline = deadline_seconds
        self._tokens = tokens

    @classmethod
    def without_breaker(
        cls,
        http: aiohttp.ClientSession,
        *,
        service: str,
        base_url: str,
        timeout_seconds: float,
        attempts: int,
        deadline_seconds: float,
        backoff_seconds: tuple[float, float],
        tokens: ServiceTokens | None = None,
    ) -> InternalClient:
        """A client on a caller of its own: timeouts, deadline and retries; no breaker, no limit.

        `backoff_seconds` is the first and the longest wait between attempts (jittered by up
        to the first).
        """
        first, longest = backoff_seconds
        policy = CallPolicy(
            timeout_seconds=timeout_seconds,
            max_attempts=attempts,
            backoff_initial_seconds=first,
            backoff_max_seconds=longest,
            backoff_jitter_seconds=first,
            max_concurrency=None,
        )
        return cls(
            http,
            OutboundCaller(None, policy),
            service=service,
            base_url=base_url,
            timeout_seconds=timeout_seconds,
            deadline_seconds=deadline_seconds,
            tokens=tokens,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        deadline: Deadline | None = None,
        params: Params | None = None,
        json: JsonBody | None = None,
    ) -> Reply:
        """The callee's answer (any status but 5xx/429), or `UpstreamUnavailableError`.

        `deadline` is the request's own budget when it fans out; by default each call gets
        `deadline_seconds`. Only `idempotent` calls are retried: a GET, or a write the callee
        applies once whatever the number of deliveries (a client-chosen id).
        """
        budget = Deadline(self._deadline) if deadline is None else deadline

        async def attempt() -> Reply:
            return await self._attempt(method, path, params=params, json=json)

        try:
            return await self._caller.call(
                self.service,
                attempt,
                deadline=budget,
                idempotent=idempotent,
                timeout_seconds=self._timeout,
                retryable=_transient_token_failure,
            )
        except _DEPENDENCY_FAILURES as exc:
            raise UpstreamUnavailableError(self.service, exc) from exc

    async def get(
        self, path: str, *, params: Params | None = None, deadline: Deadline | None = None
    ) -> Reply:
        return await self.request("GET", path, idempotent=True, params=params, deadline=deadline)

    async def _attempt(
        self, method: str, path: str, *, params: Params | None, json: JsonBody | None
    ) -> Reply:
        url = f"{self._base_url}{path}"
        reply = await send(
            self._http, method, url, params=params, json=json, headers=await self._auth()
        )
        if reply.status_code == 401 and self._tokens is not None:
            # A rotated signing key or a token that expired early: fetch a new one, once.
            self._tokens.forget()
            reply = await send(
                self._http, method, url, params=params, json=json, headers=await self._auth()
            )
        if is_fault_status(reply.status_code):
            raise StatusError(reply.status_code, url)
        return reply

    async def _auth(self) -> dict[str, str]:
        if self._tokens is None:
            return {}
        return {"Authorization": f"Bearer {await self._tokens.get()}"}


def _transient_token_failure(exc: BaseException) -> bool:
    return isinstance(exc, TokenUnavailableError) and exc.transient


def error_of(response: Reply) -> dict[str, Any]:
    """The `error` object of an answer in Mercato's error shape (empty if it is not one)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error", {}) if isinstance(body, dict) else {}
    return error if isinstance(error, dict) else {}
