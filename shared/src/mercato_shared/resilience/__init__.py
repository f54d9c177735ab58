"""Resilience for outbound calls: deadlines, retries, circuit breakers, concurrency limits.

Any service builds one `OutboundCaller` in its lifespan (breakers and semaphores are process
resources, never module globals) and routes every call to a partner through it.
"""

from mercato_shared.resilience.breakers import BreakerRegistry, BreakerState, PartnerBreaker
from mercato_shared.resilience.caller import CallPolicy, OutboundCaller
from mercato_shared.resilience.deadline import Deadline
from mercato_shared.resilience.outcomes import (
    CircuitOpenError,
    Outcome,
    StatusError,
    classify,
    is_fault_status,
    is_partner_fault,
)

__all__ = [
    "BreakerRegistry",
    "BreakerState",
    "CallPolicy",
    "CircuitOpenError",
    "Deadline",
    "OutboundCaller",
    "Outcome",
    "PartnerBreaker",
    "StatusError",
    "classify",
    "is_fault_status",
    "is_partner_fault",
]
