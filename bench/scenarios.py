"""What `make bench` measures: request scenarios x telemetry configurations.

Add a scenario or a configuration by adding an entry to a table below; the harness runs
every scenario under every configuration and reports each against the first
configuration (the baseline) measured in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from mercato_shared.telemetry.hooks import ACCELERATOR_VARIABLE

Target = Literal["gateway", "direct"]


@dataclass(frozen=True, slots=True)
class Scenario:
    """One wrk run: a request against the gateway or straight at a service's port.

    `path` is the service-relative path; through the gateway it is prefixed with
    `/api/<service>`. `script` names a wrk Lua script in `bench/scripts/` (for POST bodies,
    headers, several URLs).
    """

    name: str
    service: str
    path: str
    target: Target
    script: str | None = None


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    """Environment added to every process of the stack (`OTLP` = the harness's sink)."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    exports: bool = True


SCENARIOS: Final[tuple[Scenario, ...]] = (
    Scenario("product read, direct", "catalog", "/products/7", "direct"),
    Scenario("product read, gateway", "catalog", "/products/7", "gateway"),
)

# Telemetry off, then the stock SDK path and the opt-in accelerator (packages/otel-accelerator),
# each at the default sampling (parent-based 10%) and at 100%.
_ALWAYS_ON: Final = {"OTEL_TRACES_SAMPLER": "always_on"}
_ACCELERATOR: Final = {ACCELERATOR_VARIABLE: "true"}

CONFIGS: Final[tuple[TelemetryConfig, ...]] = (
    TelemetryConfig("off", exports=False),
    TelemetryConfig("stock"),
    TelemetryConfig("stock-100%", _ALWAYS_ON),
    TelemetryConfig("accelerator", _ACCELERATOR),
    TelemetryConfig("accelerator-100%", _ACCELERATOR | _ALWAYS_ON),
)
