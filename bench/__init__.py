"""The benchmark behind ``scripts/bench``: one run, figures compared as ratios.

The machine is shared and noisy, so every figure that matters is a ratio of
two measurements taken in the same run, never an absolute.

- run: options and the order of the whole run (``python -m bench.run``)
- rows: a row = one URL of one server under wrk, interleaved rounds, medians
- verify: what each row's server must answer before it is loaded
- report: the table, the ratios against their targets, the summary
- redis_rows: the Redis store with one worker and with two
- nagle: two workers and a small answer, for Nagle's delay (uvicorn #3149)
- live: renders per invalidation, delete then the fresh list page
- pin: connections pinned to the workers of a server, counters summed over them
- wrk: run wrk and parse what it prints
- seed, revalidate: the seeded tickets; ``revalidate_tag`` timed in process
- bare_app, dynamic_app: the ASGI apps of the bare and the dynamic rows
- hit_path: the HIT fast path in process, sampled verification off and on
  (``python -m bench.hit_path``)
- sse: a delete's p50 with 200 idle event streams open (``python -m bench.sse``)

Servers, processes, metrics and tickets come from the ``harness`` package,
shared with the tests.
"""
