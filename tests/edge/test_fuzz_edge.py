"""The hostile-input suite through the edge: harness/fuzz.py's requests sent to Varnish.

The real server behind scripts/edge's Varnish, as in tests/edge/test_edge.py;
the same seeded requests as tests/test_fuzz.py (fewer: each is a real
round trip), by nobody, the admin and somebody else. Any 5xx, from the edge
or from the app behind it, and any planted marker shown unescaped fails.
"""

from __future__ import annotations

import os
import time

import httpx

from harness import fuzz
from harness.client import create_ticket, sign_up
from harness.servers import EdgeServer

SEED = 22
COUNT = int(os.environ.get("FUZZ_EDGE_REQUESTS", "3000"))


def test_no_hostile_request_through_the_edge_gets_a_5xx_or_its_input_back(
    edge: EdgeServer,
) -> None:
    people = [httpx.Client(base_url=edge.base_url, timeout=10) for _ in range(3)]
    try:
        for person, name in ((people[1], "Ada"), (people[2], "Bob")):  # Ada is the admin
            sign_up(person, name=name)  # the client keeps its session cookie
        ids = [create_ticket(people[1], title=f"Fuzzed {n}") for n in range(3)]
        started = time.monotonic()

        problems = []
        for request in fuzz.requests(SEED, COUNT, ids):
            answer = people[request.person].request(
                request.method, request.url, headers=request.headers, content=request.body
            )
            found = fuzz.problem(
                request, answer.status_code, answer.headers.get("content-type", ""), answer.content
            )
            if found:
                problems.append(found)
    finally:
        for person in people:
            person.close()

    assert not problems, "\n".join(problems)
    assert time.monotonic() - started < 120  # bounded: ~60 s is the budget
