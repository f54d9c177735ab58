"""The CPU priority of a prefork child: report jobs yield the CPU to the shop's requests.

A report is CPU-bound for seconds at a time. On a host it shares with the HTTP services (the
native stack), a child at the normal policy takes a whole core from the services for its time
slice, and a request that wakes meanwhile waits behind it. `WORKER_CPU_POLICY` sets what each
child asks of the kernel when it starts (`sched_setscheduler(2)`; lowering one's own priority
needs no privilege):

* `idle` (the default): `SCHED_IDLE`, the lowest weight the scheduler has. A waking request
  preempts the child at once; the child still gets a small share when the host is saturated,
  so a report slows down under load instead of stopping;
* `batch`: `SCHED_BATCH`, the normal share, but the kernel treats the child as CPU-bound and
  never lets its wake-ups preempt others;
* `normal`: the policy the child was started with, unchanged.

Within a container the policy orders the container's own processes only: the container's CPU
share against other pods is its cgroup's, which this does not change: on Kubernetes the pods'
CPU requests decide how a node's CPU is shared.
"""

from __future__ import annotations

import os
from typing import Literal

CpuPolicy = Literal["normal", "batch", "idle"]

_POLICIES: dict[CpuPolicy, int] = {"batch": os.SCHED_BATCH, "idle": os.SCHED_IDLE}


def apply_cpu_policy(policy: CpuPolicy) -> None:
    """Set this process's scheduling policy (every thread it starts afterwards inherits it)."""
    if policy == "normal":
        return
    os.sched_setscheduler(0, _POLICIES[policy], os.sched_param(0))
