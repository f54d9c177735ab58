"""Garbage-collector settings for a long-running service process, applied once it has started.

CPython's cyclic collector runs a young-generation pass every 700 net allocations and, every
so often, a full pass over every tracked object. A started service holds well over 100,000
long-lived objects (FastAPI, pydantic, SQLAlchemy, the OpenTelemetry SDK, protobuf), and a
traced request allocates objects that outlive it for a while (spans wait in the batch
processor's queue), so with the defaults the collector runs young passes many times a second
and, now and then, a full pass over that whole startup heap. Both settings below cut CPU per
request (the figures: `bench/README.md`, "Figures behind choices in the code").

* `gc.freeze()` moves everything alive at the end of startup into a permanent generation the
  collector never scans again (what the CPython docs suggest for pre-forked servers, where
  it also keeps pages shared after `fork`).
* A larger young-generation threshold (`GC_GEN0_THRESHOLD`, 10,000 by default) makes passes
  rarer; each young pass then scans up to that many objects, which is cheap. Reference
  counting still frees acyclic garbage at once: memory grows only by cyclic garbage
  waiting for the next pass.
"""

from __future__ import annotations

import gc


def tune_gc(gen0_threshold: int) -> None:
    """Freeze the startup heap and set the young-generation threshold (0 keeps Python's)."""
    gc.collect()
    gc.freeze()
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)
