"""Partners settings: the fault profiles each simulated partner starts with."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from mercato_shared.settings import BaseServiceSettings
from partners.faults import FaultProfile, PartnerName


class PartnersSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "partners"

    # JSON object {partner: profile}; partners not named start healthy (no latency, no faults).
    # e.g. PARTNER_FAULTS='{"carrier-swift": {"latency_ms": 50, "error_rate": 0.1}}'
    # (pydantic-settings decodes the variable as JSON.)
    partner_faults: dict[PartnerName, FaultProfile] = Field(default_factory=dict)
    # Seed of the random source behind jitter and error draws; unset means unpredictable.
    partners_random_seed: int | None = None
