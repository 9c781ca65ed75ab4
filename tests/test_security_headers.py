"""Every answer carries the browser's policy, however it was made; the pages hold
no script the policy would refuse."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette

from app import paths
from app.security_headers import CONTENT_SECURITY_POLICY, HEADERS, MARK_JS, script_hash
from tests.helpers import HTMX, add_ticket, app_client

EXPECTED = {name.decode(): value.decode() for name, value in HEADERS}


def assert_protected(answer: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert answer.headers.get_list(name) == [value], (answer.request.url, name)


async def test_every_kind_of_answer_carries_the_headers(
    app: Starlette, client: httpx.AsyncClient, visitor: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    kinds = {
        "miss": await visitor.get(paths.tickets_path()),
        "hit": await visitor.get(paths.tickets_path()),
        "repeat": await visitor.get(paths.tickets_path()),
        "htmx": await visitor.get(paths.tickets_path(), headers=HTMX),
        "person": await client.get(paths.ticket_path(ticket.id)),
        "source": await visitor.get(paths.counts_source_path()),
        "row source": await visitor.get(paths.row_source_path(ticket.id)),
        "404": await visitor.get(paths.ticket_path("no-such-ticket")),
        "400": await visitor.get(paths.tickets_path("status=NOPE")),
        "403": await client.post(
            paths.ticket_delete_path(ticket.id), headers={"Sec-Fetch-Site": "cross-site"}
        ),
        "422": await client.post(paths.tickets_path(), data={"title": "", "content": ""}),
        "303": await client.post(paths.tickets_path(), data={"title": "t", "content": "c"}),
        "login": await visitor.get(paths.login_path()),
        "401": await visitor.post(paths.login_path(), data={"email": "a@b.co", "password": "x"}),
        "foreign host": await visitor.get("/", headers={"Host": "evil.example"}),
        "metrics": await visitor.get(paths.metrics_path()),
        "405": await visitor.put(paths.tickets_path()),
    }
    stylesheet = re.search(r'href="(/static/[^"]+[.]css)"', kinds["miss"].text)
    assert stylesheet is not None
    async with app_client(app) as plain:
        kinds["static"] = await plain.get(stylesheet.group(1))

    assert kinds["hit"].headers["x-cache"] == "HIT"
    assert {kind: answer.status_code for kind, answer in kinds.items()} == {
        "miss": 200,
        "hit": 200,
        "repeat": 200,
        "htmx": 200,
        "person": 200,
        "source": 200,
        "row source": 200,
        "404": 404,
        "400": 400,
        "403": 403,
        "422": 422,
        "303": 303,
        "login": 200,
        "401": 401,
        "foreign host": 400,
        "metrics": 200,
        "405": 405,
        "static": 200,
    }
    for answer in kinds.values():
        assert_protected(answer)


def test_the_policy_frames_only_ourselves_and_runs_no_inline_code_but_by_hash() -> None:
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))

    assert directives["frame-ancestors"] == "'self'"
    assert directives["script-src"] == f"'self' {script_hash(MARK_JS)}"
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert directives["object-src"] == "'none'"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S)
HANDLER = re.compile(r"""<[^>]*\s(on[a-z]+|hx-on[:\w-]*)\s*=""", re.I)


@pytest.mark.parametrize(
    "path", [paths.home_path(), paths.tickets_path(), paths.login_path(), paths.signup_path()]
)
async def test_a_page_holds_no_inline_code_the_policy_would_refuse(
    client: httpx.AsyncClient, path: str
) -> None:
    page = (await client.get(path)).text

    inline = INLINE_SCRIPT.findall(page)
    assert inline == [MARK_JS]  # the one the policy allows by its hash
    assert HANDLER.search(page) is None
    assert "style=" not in page  # style-src 'self': no style attributes either


def test_the_checks_above_can_see_inline_code() -> None:
    page = '<script>alert(1)</script><button onclick="x()"><form hx-on::after-request="y">'

    assert INLINE_SCRIPT.findall(page) == ["alert(1)"]
    assert HANDLER.search(page) is not None
    assert HANDLER.search('<form hx-on::after-request="y">') is not None
