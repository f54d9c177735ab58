"""`create_app`: the one way a Mercato service builds its FastAPI application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

from fastapi import APIRouter, FastAPI

from mercato_shared import health
from mercato_shared.admission import Admission, AdmissionMiddleware
from mercato_shared.body_deadline import BodyDeadlineMiddleware
from mercato_shared.dependencies import ServiceDependencies
from mercato_shared.docs_pages import install_docs_pages
from mercato_shared.drain import Drain, DrainMiddleware
from mercato_shared.errors import ERROR_RESPONSES, install_error_handlers
from mercato_shared.gc_tuning import tune_gc
from mercato_shared.json_response import ServiceJSONResponse
from mercato_shared.logging import configure_logging
from mercato_shared.middleware import RequestContextMiddleware
from mercato_shared.openapi import install_openapi, operation_id
from mercato_shared.resources import Resources, open_resources
from mercato_shared.settings import BaseServiceSettings
from mercato_shared.telemetry import init_telemetry, instrument_app
from mercato_shared.telemetry.instrumentation import FASTAPI_NATIVE_TELEMETRY_OFF

ServiceLifespan = Callable[[Resources], AbstractAsyncContextManager[Mapping[str, Any]]]


def create_app(
    settings: BaseServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter],
    dependencies: ServiceDependencies,
    description: str = "",
    lifespan: ServiceLifespan | None = None,
) -> FastAPI:
    """Build a service app with Mercato's conventions.

    The gateway serves the app under `/api/<service>/`; the server is started with
    `--root-path /api/<service>` so the docs and OpenAPI links work through the gateway.

    The lifespan opens the process's resources (the shared HTTP session, and the engine and
    pool and the Redis client when `dependencies` names them) and exposes them as request
    state; `lifespan` adds the service's own state (the service object, caches, typed
    clients) built from those resources. A service passes the declaration `make render`
    writes into its `stack.py` from `stack.toml`: what it opens is what it declares, and a use
    it does not declare fails its own tests. Once everything has started, the startup heap
    is frozen for the garbage collector (`mercato_shared.gc_tuning`). With
    `shutdown_drain_seconds` set, a SIGTERM first drains the process (`mercato_shared.drain`).
    """
    configure_logging(settings.service_name, settings.log_level)
    init_telemetry(settings.service_name)
    drain = Drain(settings.shutdown_drain_seconds)

    @asynccontextmanager
    async def app_lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with open_resources(settings, dependencies) as resources:
            service_state = nullcontext({}) if lifespan is None else lifespan(resources)
            async with service_state as extra:
                tune_gc(settings.gc_gen0_threshold)
                with drain.on_sigterm(asyncio.get_running_loop()):
                    yield {"resources": resources, **extra}

    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=app_lifespan,
        responses=ERROR_RESPONSES,
        generate_unique_id_function=operation_id,
        default_response_class=ServiceJSONResponse,
        # Served by install_docs_pages, with assets of their own instead of a CDN's.
        docs_url=None,
        redoc_url=None,
        telemetry=FASTAPI_NATIVE_TELEMETRY_OFF,
    )
    # The routers' own routes (FastAPI's app-level table nests included routers).
    routes = [route for router in (health.router, *routers) for route in router.routes]
    install_error_handlers(app, routes=routes)
    # Inside RequestContextMiddleware (added last, so outermost): its 408 has the ids.
    app.add_middleware(BodyDeadlineMiddleware, timeout=settings.request_body_timeout_seconds)
    if drain.seconds > 0:
        app.add_middleware(DrainMiddleware, drain=drain)  # inside: its answer has the request id
    if settings.admission_limit > 0:  # outside the body's read: a refusal reads no body
        admission = Admission(settings.admission_limit, settings.admission_queue_ms / 1000)
        app.add_middleware(AdmissionMiddleware, admission=admission)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    for router in routers:
        app.include_router(router)
    install_openapi(app)
    install_docs_pages(app)
    instrument_app(app)
    return app
