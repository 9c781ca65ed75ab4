"""What a process serving the app does once, when the app has started: freeze
what start-up made out of the garbage collector's way, and let the youngest
generation grow before it is collected.

A started app holds some 100,000 objects the collector tracks (modules,
SQLAlchemy's mappers and statement caches, Jinja's templates, the routes),
and none of them ever becomes garbage. Each full collection scanned them
all again: one every few hundred requests, 110-210 ms on whichever request
ran into it, and the collections of the middle generation grew with them.
``gc.freeze`` moves every object tracked now to a generation no collection
scans (the measurements: bench/README.md).

Without a ``gc.collect`` first: it would cost every app start ~85 ms to free
the ~900 objects start-up leaves behind, which stay frozen instead. Once per
process: an app started after the first (a test process starts hundreds) is
left to the collector, as anything frozen that later turns to garbage is
never freed.

A request holds thousands of objects at once (ORM rows, markup, template
frames), nearly all freed by their reference counts when it is done. At
CPython's threshold (700 allocations more than deallocations) a write and
the list read after it ran into a young collection about once a round,
0.18 ms scanning what the request held then; at ``YOUNG_THRESHOLD``, about
once in a hundred rounds (0.05 ms a round on average, by ``gc.callbacks``).
It costs a few hundred kilobytes at most.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # allocations between two young collections (CPython: 700)

_frozen = False


def freeze_start_up() -> bool:
    """Freeze what the process holds now, and widen the young generation, the
    first time it is called: whether it did."""
    global _frozen  # once per process, whichever app starts first
    if _frozen:
        return False
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
    _frozen = True
    return True
