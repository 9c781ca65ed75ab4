"""The cache's admin page draws its figures live, each chart over its table."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.helpers import Server


def reads_of(page: Page, route: str) -> int:
    """Hits + misses of ``route`` in the hit-ratio chart's table (0: not read yet)."""
    rows = page.locator("[data-table=hits] tr").filter(
        has=page.get_by_role("rowheader", name=route, exact=True)
    )
    if not rows.count():
        return 0
    cells = rows.first.locator("td")
    return int(cells.nth(0).inner_text()) + int(cells.nth(1).inner_text())


def times_moved(page: Page, tag: str) -> int:
    """How often ``tag`` was invalidated, in the "tags invalidated most" table (0: not there)."""
    rows = page.locator("[data-table=most_invalidated] tr").filter(
        has=page.get_by_role("rowheader", name=tag, exact=True)
    )
    return int(rows.first.locator("td").inner_text()) if rows.count() else 0


def test_the_charts_move_after_a_burst_and_say_it_in_tables(
    page: Page, server: Server, unique: Callable[[str], str]
) -> None:
    ticket = server.create_ticket(unique("Charted"))
    page.goto("/admin/cache")
    figures = page.locator("[data-figures]")
    expect(figures).to_have_attribute("data-samples", re.compile(r"\d+"))  # polled
    before = reads_of(page, "/tickets/{id}")
    # Every write of a ticket moves the table's own tag: always among the most moved.
    moved_before = times_moved(page, "ticket")

    with server.http() as http:  # a burst: reads of the page, and writes that move it
        for n in range(10):
            http.get(f"/tickets/{ticket}")
            http.post(f"/tickets/{ticket}/update", data={"title": f"Charted {n}"})

    # The next poll (every 5 s) shows the burst, in the table and in the charts.
    page.wait_for_function(
        """([route, atLeast]) => [...document.querySelectorAll('[data-table=hits] tr')].some(
            (row) => row.cells[0].textContent === route
                && Number(row.cells[1].textContent) + Number(row.cells[2].textContent) >= atLeast
        )""",
        arg=["/tickets/{id}", before + 10],
        timeout=15_000,
    )
    for name in ("hit_ratio", "renders_per_invalidation", "consistent", "bytes"):
        chart = page.locator(f'[data-chart="{name}"]')
        expect(chart.locator("canvas")).to_have_count(1)
        described_by = chart.get_attribute("aria-describedby")
        assert described_by and page.locator(f"#{described_by} tbody tr").count() >= 1
    expect(page.get_by_role("columnheader", name="to store")).to_have_count(1)
    expect(page.locator("[data-table=consistent] tr")).to_have_count(13)  # 12 bounds, and longer
    # The burst's ten writes are counted among the tags moved most (its ticket's
    # own tag may not be listed: the tests before it on this server wrote more).
    assert times_moved(page, "ticket") >= moved_before + 10
