"""Short ticket numbers (#123): given in order, shown in rows and on the
ticket's page, a way to the ticket (/tickets/123), kept across an undo."""

from __future__ import annotations

import re

import httpx

from app import paths


async def create(client: httpx.AsyncClient, title: str) -> str:
    """Create a ticket as a browser without JavaScript would; return its id."""
    answer = await client.post("/tickets", data={"title": title, "content": "Numbered."})
    assert answer.status_code == 303
    found = re.search(
        rf'id="title-([0-9a-f-]{{36}})"[^>]*>{title}<', (await client.get("/tickets")).text
    )
    assert found is not None
    return found.group(1)


async def test_tickets_are_numbered_in_order_and_shown_so(client: httpx.AsyncClient) -> None:
    first = await create(client, "First numbered")
    second = await create(client, "Second numbered")
    listed = (await client.get("/tickets")).text
    page = (await client.get(paths.ticket_path(second))).text

    numbers = re.findall(
        r'<span class="ticket-number">#(\d+)</span>\s*<a id="title-([0-9a-f-]+)"', listed
    )
    by_id = {ticket_id: int(n) for n, ticket_id in numbers}
    assert by_id[second] == by_id[first] + 1
    assert f'<span class="ticket-number">#{by_id[second]}</span>' in page
    assert f"<title>Second numbered · #{by_id[second]} · " in page


async def test_a_number_leads_to_its_ticket(client: httpx.AsyncClient) -> None:
    ticket_id = await create(client, "Found by number")
    number = re.search(r"#(\d+)</span>", (await client.get(paths.ticket_path(ticket_id))).text)
    assert number is not None

    found = await client.get(paths.ticket_number_path(int(number.group(1))))
    missing = await client.get(paths.ticket_number_path(987654))
    largest = await client.get("/tickets/" + "9" * 9)  # fits a 32-bit column still
    past_int4 = await client.get("/tickets/" + "9" * 10)
    past_sql = await client.get("/tickets/" + "9" * 200)  # int() of these overflowed SQLite
    past_int = await client.get("/tickets/" + "9" * 5000)  # and int() of these raised

    assert found.status_code == 302
    assert found.headers["location"] == paths.ticket_path(ticket_id)
    assert missing.status_code == largest.status_code == 404
    assert past_int4.status_code == past_sql.status_code == past_int.status_code == 404


async def test_an_undone_delete_keeps_the_number(client: httpx.AsyncClient) -> None:
    ticket_id = await create(client, "Deleted and back")
    before = re.search(r"#(\d+)</span>", (await client.get(paths.ticket_path(ticket_id))).text)
    assert before is not None

    assert (await client.post(paths.ticket_delete_path(ticket_id))).status_code == 303
    assert (await client.post(paths.ticket_restore_path(ticket_id))).status_code == 303
    after = (await client.get(paths.ticket_path(ticket_id))).text

    assert f'<span class="ticket-number">#{before.group(1)}</span>' in after
    answer = await client.get(paths.ticket_number_path(int(before.group(1))))
    assert answer.headers["location"] == paths.ticket_path(ticket_id)
