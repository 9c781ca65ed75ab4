"""The oracle: no cached answer differs from what the app with CACHE_URL=off answers.

Hypothesis drives random sequences of real actions over HTTP, by two
people, through the cached app: sign up, sign in and out, create, edit the
title and content, change the status (inline, as a list row does, or not),
delete (inline or not) and undo, the same in bulk (a status, an assignee, a
delete and its undo, for a few tickets at once), assign (to oneself, to the
other, to nobody), rename oneself, save an edit form made a few versions ago
(kept, or a 409 clash), revert a title or description edit, comment (inline
or not), edit and delete a comment, and undo that. After every step, for each person and
for somebody anonymous, every URL in play is asked of the cached app and of
its oracle (``harness.oracle.Twins``: the same app, nothing stored, the same
database), and their answers must be equal (``harness.oracle.compare`` says
what it ignores: headers that say how an answer was made, never its body).
The oracle's answer is a function of the database's rows and the request
alone, so it is asked once for each state of the database
(``harness.oracle.database_state``): a step that moved nothing (a refused
edit, a delete of a deleted ticket, a rename to the same name) is checked
against the answers the oracle gave before it, which is what it would give
again. A look must leave the database as it found it: a GET writes nothing.

The URLs: the home page and the list (all, each status, a search, each
sort, each assignee filter, one of everything combined, with their next
pages through ``rel="next"``), the account page, the page and assignee
picker of every ticket in play (one an action may name, deleted ones
included), and each live fragment's
source the pages name (``data-live-src``), as static/live.js asks for it,
and the earlier comments and changes each "Show earlier" link leads to
(``rel="prev"``: its page, and its source); one ticket starts with more
comments and changes than its page shows (``_discuss``);
each page also as htmx asks for it (``HX-Request: true``); and the edit
page of every comment made (one person's: a form, a 403 or a sign-in). A filler
ticket's own page and row source are not asked for: no action names it, and
the lists show it.

A difference fails with the shortest sequence of actions Hypothesis finds
that shows it. The budget: ``FRESH_EXAMPLES`` sequences (in ``SHARDS``) of ``FRESH_STEPS``
actions (``scripts/check-fresh --steps N`` for a longer run).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col, select

from app import ids, paths
from app.models import Comment, Ticket, TicketChange, TicketStatus, User, utcnow
from app.tickets import comment_views, timeline
from harness.oracle import Answer, Twins, compare, database_state, links_of
from tests.helpers import (
    HTMX,
    PASSWORD,
    add_ticket,
    app_client,
    own_cache_url,
    own_database,
    sign_up,
)

T = TypeVar("T")

EXAMPLES = int(os.environ.get("FRESH_EXAMPLES", "12"))
STEPS = int(os.environ.get("FRESH_STEPS", "6"))
# The sequences are shared out among shards of their own seed, which
# pytest-xdist runs side by side: one run of them all took ~65 s on SQLite,
# ~100 s on PostgreSQL, and was most of the wall time of a pass.
SHARDS = 3
# Finding a difference is quick; shrinking it to the shortest sequence replays
# hundreds of sequences, which takes minutes.
TIMEOUT = int(os.environ.get("FRESH_TIMEOUT", "1800"))

# Titles and contents are made of these, so that searches find some tickets
# and not others (accents and case fold away: "cafe" finds "Café").
WORDS = ("printer", "fire", "Café", "down")
SEARCHES = ("print", "cafe")  # looked for after every step: one a prefix, one unaccented
# Two people: the admin, who may delete anything, and one who may delete her own.
NAMES = ("Ada", "Grace")
RENAMES = ("Ada Lovelace", "Grace Hopper", "Ada")  # what the rename rule picks from
# Tickets there from the start: NAMED ones for the actions to name, and as
# many more that no action names (FILLER, checked through the lists only).
# A list shows 50 rows a page: 48 in all put its second page in play after a
# couple of creates, and a delete or two takes it away again.
NAMED = 2
FILLER = (0, 46)
SOURCES = "/fragments/"  # where live fragments are served alone (app.paths *_source_path)
# A ticket's page shows this many of its comments and changes here (its latest
# part; the rest a page at a time: "Show earlier"), so that a few actions
# move every page, and a ticket seeded with more has earlier ones from the start.
SHOWN_COMMENTS = 2
SHOWN_CHANGES = 3
SEEDED_COMMENTS = 5
SEEDED_CHANGES = 7


@dataclass
class Person:
    name: str
    cached: httpx.AsyncClient  # the cookies of the person's browser live here
    oracle: httpx.AsyncClient  # given the same cookies before each look
    email: str = ""
    signed_in: bool = False


class Freshness(RuleBasedStateMachine):
    tickets = Bundle("tickets")
    comments = Bundle("comments")  # (ticket id, comment id)

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.stack = AsyncExitStack()
        self.directory = Path(tempfile.mkdtemp(prefix="fresh-"))
        self.twins = self.run(self._start())
        self.anonymous = self.run(self._person("anonymous"))
        self.people: list[Person] = []
        self.in_play: set[str] = set()  # tickets an action may name or named
        self.filler: set[str] = set()  # tickets no action names
        self.bulk_undos: list[str] = []  # what each bulk delete's Undo posts to
        self.commented: set[tuple[str, str]] = set()  # (ticket, comment) any action made
        # The oracle's answers for the state of the database they were given in,
        # by (URL, headers, the cookies sent): 37% of the looks follow a step
        # that moved nothing, and the oracle's renders were 3/4 of this test's time.
        self.oracle_state = b""
        self.oracle_answers: dict[tuple[object, ...], Answer] = {}

    # -- the machinery -------------------------------------------------------------

    def run(self, work: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await work

        return self.runner.run(wrapped())

    async def _start(self) -> Twins:
        url = await self.stack.enter_async_context(own_database(self.directory))
        return await self.stack.enter_async_context(Twins.running(url, own_cache_url()))

    async def _person(self, name: str) -> Person:
        cached = await self.stack.enter_async_context(app_client(self.twins.cached))
        oracle = await self.stack.enter_async_context(app_client(self.twins.oracle))
        return Person(name, cached, oracle)

    def teardown(self) -> None:
        try:
            self.run(self.stack.aclose())
        finally:
            self.runner.close()
            shutil.rmtree(self.directory, ignore_errors=True)

    def who(self, index: int) -> Person:
        return self.people[index % len(self.people)]

    def post(self, person: Person, url: str, data: dict[str, str], **headers: str) -> int:
        """A write, through the cached app, as ``person``'s browser sends it."""
        answer = self.run(person.cached.post(url, data=data, headers=headers))
        assert answer.status_code < 500, f"POST {url} answered {answer.status_code}"
        return answer.status_code

    async def _ticket_ids(self) -> set[str]:
        db = self.twins.cached.state.db
        async with db.session() as session:
            return set((await session.exec(select(Ticket.id))).all())

    # -- the actions ---------------------------------------------------------------

    @initialize(target=tickets, filler=st.sampled_from(FILLER))
    def start(self, filler: int) -> Any:
        """The first person signs up (the admin); some tickets are there already."""
        self.sign_up()
        seeded = self.run(self._seed(NAMED + filler))
        named = seeded[-NAMED:]  # the newest: on the first page of the list
        self.in_play |= set(named)
        self.commented |= self.run(self._discuss(named[-1]))
        self.filler = set(seeded) - self.in_play
        return multiple(*named)

    async def _seed(self, count: int) -> list[str]:
        """Tickets written straight to the database before anything was read,
        by the admin and by nobody known, in every status, oldest first."""
        statuses = list(TicketStatus)
        async with self.twins.cached.state.db.transaction() as session:
            admin_id = (await session.exec(select(User.id))).one()  # the only account yet
            # Dates of their own, a second apart, so that the lists' order is
            # the same in every run (a tie would be broken by the random ids).
            first = utcnow() - timedelta(hours=1)
            tickets = [
                Ticket(
                    title=f"{WORDS[n % len(WORDS)]} {WORDS[(n * 3 + 1) % len(WORDS)]} {n}",
                    content=f"seeded {WORDS[n % len(WORDS)]}",
                    status=statuses[n % len(statuses)],
                    created_at=first + timedelta(seconds=n),
                    updated_at=first + timedelta(seconds=n),
                    author_id=admin_id if n % 2 else None,
                )
                for n in range(count)
            ]
            session.add_all(tickets)
        return [ticket.id for ticket in tickets]

    async def _discuss(self, ticket_id: str) -> set[tuple[str, str]]:
        """A ticket with earlier comments and changes (pages24): more than its page
        shows (``SHOWN_COMMENTS``, ``SHOWN_CHANGES``), so that "Show earlier" is in
        play from the start, and the actions move its pages."""
        async with self.twins.cached.state.db.transaction() as session:
            first = utcnow() - timedelta(minutes=30)
            made = [
                Comment(ticket_id=ticket_id, body=f"{WORDS[n % len(WORDS)]} {n}", created_at=at)
                for n, at in ((n, first + timedelta(seconds=n)) for n in range(SEEDED_COMMENTS))
            ]
            session.add_all(made)
            for n in range(SEEDED_CHANGES):
                status = list(TicketStatus)[n % len(TicketStatus)].value
                session.add(TicketChange(ticket_id=ticket_id, version=1, kind="status", new=status))
        return {(ticket_id, comment.id) for comment in made}

    @precondition(lambda self: len(self.people) < len(NAMES))
    @rule()
    def sign_up(self) -> None:
        person = self.run(self._person(NAMES[len(self.people)]))
        person.email = f"{person.name.lower()}@example.com"
        answer = self.run(sign_up(person.cached, person.email, person.name))
        assert answer.status_code == 303, answer.text[:500]
        person.signed_in = True
        self.people.append(person)

    @precondition(lambda self: any(person.signed_in for person in self.people))
    @rule(who=st.integers(0, 1), keep_cookie=st.booleans())
    def sign_out(self, who: int, keep_cookie: bool) -> None:
        """``keep_cookie``: the browser (or a copy of the cookie) keeps the old
        session cookie, which must now name nobody."""
        signed_in = [person for person in self.people if person.signed_in]
        person = signed_in[who % len(signed_in)]
        kept = dict(person.cached.cookies)
        self.post(person, paths.logout_path(), {})
        if keep_cookie:
            for name, value in kept.items():
                person.cached.cookies.set(name, value)
        person.signed_in = False

    @precondition(lambda self: any(not person.signed_in for person in self.people))
    @rule(who=st.integers(0, 1))
    def sign_in(self, who: int) -> None:
        out = [person for person in self.people if not person.signed_in]
        person = out[who % len(out)]
        person.cached.cookies.clear()
        form = {"email": person.email, "password": PASSWORD}
        assert self.post(person, paths.login_path(), form) == 303
        person.signed_in = True

    @rule(
        target=tickets,
        who=st.integers(0, 1),
        title=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
        content=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
        inline=st.booleans(),
    )
    def create(self, who: int, title: list[str], content: list[str], inline: bool) -> Any:
        """``inline``: from the list page with htmx (the new row comes back)."""
        before = self.run(self._ticket_ids())
        headers = {**HTMX, "HX-Target": ids.FIRST_PAGE} if inline else {}
        form = {"title": " ".join(title), "content": " ".join(content)}
        self.post(self.who(who), paths.tickets_path(), form, **headers)
        made = self.run(self._ticket_ids()) - before
        self.in_play |= made
        return multiple(*made)

    @rule(
        who=st.integers(0, 1),
        ticket=tickets,
        title=st.none() | st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
        content=st.none() | st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    )
    def edit(
        self, who: int, ticket: str, title: list[str] | None, content: list[str] | None
    ) -> None:
        form = {
            name: " ".join(words)
            for name, words in (("title", title), ("content", content))
            if words is not None
        }
        self.in_play.add(ticket)
        self.post(self.who(who), paths.ticket_update_path(ticket), form)

    @rule(
        who=st.integers(0, 1),
        ticket=tickets,
        status=st.sampled_from(TicketStatus),
        inline=st.booleans(),
    )
    def set_status(self, who: int, ticket: str, status: TicketStatus, inline: bool) -> None:
        """``inline``: a list row's status control (its row comes back)."""
        headers = {**HTMX, "HX-Target": ids.ticket(ticket)} if inline else {}
        self.in_play.add(ticket)
        self.post(self.who(who), paths.ticket_update_path(ticket), {"status": status}, **headers)

    @rule(who=st.integers(0, 1), ticket=tickets, inline=st.booleans())
    def delete(self, who: int, ticket: str, inline: bool) -> None:
        headers = {**HTMX, "HX-Target": ids.ticket(ticket)} if inline else {}
        self.in_play.add(ticket)
        self.post(self.who(who), paths.ticket_delete_path(ticket), {}, **headers)

    @rule(who=st.integers(0, 1), ticket=tickets)
    def undo(self, who: int, ticket: str) -> None:
        self.in_play.add(ticket)
        self.post(self.who(who), paths.ticket_restore_path(ticket), {})

    # -- a ticket's history (versions, revert) ----------------------------------------

    @rule(
        who=st.integers(0, 1),
        ticket=tickets,
        back=st.integers(0, 3),
        title=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
        status=st.sampled_from(TicketStatus),
        inline=st.booleans(),
    )
    def edit_from_version(
        self,
        who: int,
        ticket: str,
        back: int,
        title: list[str],
        status: TicketStatus,
        inline: bool,
    ) -> None:
        """The edit form saved ``back`` versions after it was made: what
        changed since is kept, or the save clashes (409, nothing changed)."""
        self.in_play.add(ticket)
        version = self.run(self._version(ticket))
        if version is None:
            return  # deleted: the plain update rules cover its 404
        form = {
            "title": " ".join(title),
            "content": "seeded",
            "status": status.value,
            "version": str(max(1, version - back)),
        }
        headers = HTMX if inline else {}
        self.post(self.who(who), paths.ticket_update_path(ticket), form, **headers)

    @rule(who=st.integers(0, 1), ticket=tickets, latest=st.booleans())
    def revert(self, who: int, ticket: str, latest: bool) -> None:
        """Revert a title or description edit: the latest of the ticket's (may
        land) or its first (refused once another followed)."""
        self.in_play.add(ticket)
        edits = self.run(self._edits(ticket))
        if edits:
            change = edits[-1] if latest else edits[0]
            self.post(self.who(who), paths.change_revert_path(ticket, change), {})

    async def _version(self, ticket_id: str) -> int | None:
        async with self.twins.cached.state.db.session() as session:
            found = await session.get(Ticket, ticket_id)
        return None if found is None else found.version

    async def _edits(self, ticket_id: str) -> list[int]:
        async with self.twins.cached.state.db.session() as session:
            found = await session.exec(
                select(TicketChange.id)
                .where(col(TicketChange.ticket_id) == ticket_id)
                .where(col(TicketChange.kind).in_(["title", "content"]))
                .order_by(col(TicketChange.id))
            )
            return [change_id for change_id in found.all() if change_id is not None]

    # -- bulk actions on a selection of the list (app/tickets/bulk.py) ----------------

    @rule(
        who=st.integers(0, 1),
        chosen=st.lists(tickets, min_size=1, max_size=3),
        status=st.sampled_from(TicketStatus),
        inline=st.booleans(),
    )
    def bulk_status(self, who: int, chosen: list[str], status: TicketStatus, inline: bool) -> None:
        """``inline``: from the list's bar with htmx (the changed rows come back)."""
        self._bulk(who, chosen, inline, action="status", status=status.value)

    @rule(
        who=st.integers(0, 1),
        chosen=st.lists(tickets, min_size=1, max_size=3),
        whom=st.sampled_from(("me", "nobody", "someone")),
        inline=st.booleans(),
    )
    def bulk_assign(self, who: int, chosen: list[str], whom: str, inline: bool) -> None:
        """To the one who posts, to nobody, or to a person (the other one, if any)."""
        assignee = {"me": "me", "nobody": ""}.get(whom) or self.run(self._id_of(who + 1))
        self._bulk(who, chosen, inline, action="assign", assignee=assignee)

    @rule(who=st.integers(0, 1), chosen=st.lists(tickets, min_size=1, max_size=3))
    def bulk_delete(self, who: int, chosen: list[str]) -> None:
        """With htmx: at once, offering one Undo for all (a plain post asks first)."""
        answer = self._bulk(who, chosen, True, action="delete")
        if answer.status_code == 200:
            self.bulk_undos.append(paths.tickets_restore_path(chosen))

    @precondition(lambda self: bool(self.bulk_undos))
    @rule(who=st.integers(0, 1), which=st.integers(0, 3), inline=st.booleans())
    def bulk_undo(self, who: int, which: int, inline: bool) -> None:
        undo = self.bulk_undos[which % len(self.bulk_undos)]
        headers = {**HTMX, "HX-Target": ids.BULK} if inline else {}
        self.post(self.who(who), undo, {}, **headers)

    def _bulk(self, who: int, chosen: list[str], inline: bool, **fields: str) -> httpx.Response:
        self.in_play |= set(chosen)
        headers = {**HTMX, "HX-Target": ids.BULK} if inline else {}
        data = {"ids": chosen, **fields}
        answer = self.run(
            self.who(who).cached.post(paths.tickets_bulk_path(), data=data, headers=headers)
        )
        assert answer.status_code < 500, f"bulk {fields} answered {answer.status_code}"
        return answer

    async def _id_of(self, index: int) -> str:
        person = self.who(index)
        async with self.twins.cached.state.db.session() as session:
            found = await session.exec(select(User.id).where(User.email == person.email))
            return found.one()

    # people24: assignees and names that change.
    @precondition(lambda self: bool(self.people))
    @rule(who=st.integers(0, 1), ticket=tickets, whom=st.sampled_from(["me", "other", ""]))
    def assign(self, who: int, ticket: str, whom: str) -> None:
        """Assign a ticket to oneself, to the other person, or to nobody ("")."""
        if whom == "other":
            whom = self.run(self._person_id(self.who(who + 1).email)) or ""
        self.in_play.add(ticket)
        self.post(self.who(who), paths.ticket_update_path(ticket), {"assignee": whom})

    @precondition(lambda self: bool(self.people))
    @rule(who=st.integers(0, 1), name=st.sampled_from(RENAMES))
    def rename(self, who: int, name: str) -> None:
        self.post(self.who(who), paths.account_path(), {"name": name})

    async def _person_id(self, email: str) -> str | None:
        async with self.twins.cached.state.db.session() as session:
            found = await session.exec(select(User.id).where(col(User.email) == email))
            return found.first()

    async def _people_ids(self) -> list[str]:
        async with self.twins.cached.state.db.session() as session:
            return sorted((await session.exec(select(User.id))).all())

    # -- comments (issue 24) ---------------------------------------------------------

    async def _comments(self) -> set[tuple[str, str]]:
        db = self.twins.cached.state.db
        async with db.session() as session:
            return {(c.ticket_id, c.id) for c in await session.exec(select(Comment))}

    @rule(
        target=comments,
        who=st.integers(0, 1),
        ticket=tickets,
        body=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
        inline=st.booleans(),
    )
    def comment(self, who: int, ticket: str, body: list[str], inline: bool) -> Any:
        """``inline``: with htmx, as the ticket page's form sends it (its section comes back)."""
        before = self.run(self._comments())
        self.in_play.add(ticket)
        form = {"body": " ".join(body)}
        self.post(
            self.who(who), paths.ticket_comments_path(ticket), form, **(HTMX if inline else {})
        )
        made = self.run(self._comments()) - before
        self.commented |= made
        return multiple(*made)

    @rule(
        who=st.integers(0, 1),
        made=comments,
        body=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    )
    def edit_comment(self, who: int, made: tuple[str, str], body: list[str]) -> None:
        ticket, comment = made
        url = paths.comment_update_path(ticket, comment)
        self.post(self.who(who), url, {"body": "edited " + " ".join(body)})

    @rule(who=st.integers(0, 1), made=comments, inline=st.booleans())
    def delete_comment(self, who: int, made: tuple[str, str], inline: bool) -> None:
        ticket, comment = made
        url = paths.comment_delete_path(ticket, comment)
        self.post(self.who(who), url, {}, **(HTMX if inline else {}))

    @rule(who=st.integers(0, 1), made=comments, inline=st.booleans())
    def undo_comment_delete(self, who: int, made: tuple[str, str], inline: bool) -> None:
        """Undo (a 409 when the comment is there, else it comes back where it was)."""
        ticket, comment = made
        headers = {**HTMX, "HX-Target": ids.comment(comment)} if inline else {}
        self.post(self.who(who), paths.comment_restore_path(ticket, comment), {}, **headers)

    # -- the check -----------------------------------------------------------------

    @invariant()
    def every_answer_is_the_oracles(self) -> None:
        if self.people:  # before start(): nothing to look at yet
            self.run(self._check())

    def start_urls(self, people_ids: list[str]) -> list[str]:
        lists = [paths.tickets_path(f"status={status.value}") for status in TicketStatus]
        searched = [paths.tickets_path(urlencode({"q": words})) for words in SEARCHES]
        urls = [paths.home_path(), paths.tickets_path(), *lists, *searched]
        # people24: each sort, each assignee filter, combined with a status and a search.
        sorted_lists = [paths.tickets_path(f"sort={sort}") for sort in ("updated", "comments")]
        people = [*people_ids, "none"]
        assigned = [paths.tickets_path(urlencode({"assignee": person})) for person in people]
        combined = paths.tickets_path("assignee=none&q=print&sort=updated&status=OPEN")
        urls += [*sorted_lists, *assigned, combined, paths.tickets_path("assignee=me")]
        urls += [paths.account_path(), paths.assignee_options_path()]
        for ticket in sorted(self.in_play):
            urls += [paths.ticket_path(ticket), paths.row_source_path(ticket)]
            urls.append(paths.timeline_source_path(ticket))
            urls.append(paths.assignee_picker_path(ticket))
        for ticket, comment in sorted(self.commented):  # its edit page, per person
            urls.append(paths.comment_edit_path(ticket, comment))
        return urls

    async def _check(self) -> None:
        engine = self.twins.cached.state.db.engine
        state = await database_state(engine)
        if state != self.oracle_state:
            self.oracle_state, self.oracle_answers = state, {}
        skipped = {paths.row_source_path(ticket) for ticket in self.filler}
        urls = self.start_urls(await self._people_ids())
        for person in [self.anonymous, *self.people]:
            person.oracle.cookies = person.cached.cookies
            await self._look(person, urls, skipped)
        assert await database_state(engine) == state, "a GET changed the database"

    async def _look(self, person: Person, urls: list[str], skipped: set[str]) -> None:
        """Ask both apps for each URL, as a page and for htmx, and follow the links."""
        seen = set(urls)
        queue = list(urls)
        while queue:
            url = queue.pop(0)
            # A source is fetched as static/live.js fetches it; a page both ways.
            for headers in [HTMX] if url.startswith(SOURCES) else [{}, HTMX]:
                cached = Answer.of(await person.cached.get(url, headers=headers))
                oracle = await self._oracle(person, url, headers)
                diff = compare(cached, oracle)
                variant = " (htmx)" if headers else ""
                assert diff is None, f"GET {url}{variant} as {person.name}:\n{diff}"
                for link in links_of(oracle.body):
                    if link not in seen and link not in skipped:
                        seen.add(link)
                        queue.append(link)

    async def _oracle(self, person: Person, url: str, headers: dict[str, str]) -> Answer:
        """The oracle's answer, asked of it once for this state of the database
        (an answer that sets a cookie, each time: none does yet)."""
        jar = person.oracle.cookies.jar
        cookies = tuple(sorted((c.domain, c.path, c.name, c.value or "") for c in jar))
        key = (url, tuple(headers.items()), cookies)
        found = self.oracle_answers.get(key)
        if found is None:
            found = Answer.of(await person.oracle.get(url, headers=headers))
            if all(name != "set-cookie" for name, _ in found.headers):
                self.oracle_answers[key] = found
        return found


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_cached_answer_differs_from_the_oracles(
    monkeypatch: pytest.MonkeyPatch, shard: int
) -> None:
    monkeypatch.setattr(comment_views, "SHOWN", SHOWN_COMMENTS)
    monkeypatch.setattr(timeline, "SHOWN", SHOWN_CHANGES)
    # Hypothesis tries its simplest sequence first, whatever the seed: each
    # shard after the first has one example more, for its repeat of it.
    examples = -(-EXAMPLES // SHARDS) + (shard > 0)

    @seed(shard)  # on a factory of this shard's: the class is every shard's
    def machine() -> Freshness:
        return Freshness()

    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            phases=[phase for phase in Phase if phase is not Phase.explain],  # minutes, no news
        ),
    )


def test_the_oracle_sees_what_the_cache_was_not_told(tmp_path: Path) -> None:
    """The check can fail: a stale answer is told apart from the oracle's."""

    async def look() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with own_database(tmp_path) as url, Twins.running(url, own_cache_url()) as twins:
            ticket = await add_ticket(twins.cached, title="Printer on fire")
            page = paths.ticket_path(ticket.id)
            async with app_client(twins.cached) as cached, app_client(twins.oracle) as oracle:
                first = await cached.get(page)
                await _write_behind_the_apps_back(url, ticket.id)
                again = await cached.get(page)
                fresh = await oracle.get(page)
                return first, again, fresh

    first, again, fresh = asyncio.run(look())

    assert again.headers["x-cache"] == "HIT" and fresh.headers["x-cache"] == "MISS"
    assert compare(Answer.of(first), Answer.of(again)) is None
    diff = compare(Answer.of(again), Answer.of(fresh))
    assert diff is not None
    shown = '    <div class="prose ticket-detail__content"><p>'
    assert f"-{shown}changed behind its back</p>" in diff, diff
    assert f"+{shown}Smoke from tray 2.</p>" in diff, diff


async def _write_behind_the_apps_back(url: str, ticket_id: str) -> None:
    """A change made by another program (an engine of its own, a plain
    statement): nothing tells the cache."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            changed = update(Ticket).where(col(Ticket.id) == ticket_id)
            await connection.execute(changed.values(content="changed behind its back"))
    finally:
        await engine.dispose()


def test_the_database_state_moves_with_a_write_and_only_then(tmp_path: Path) -> None:
    """What lets the walk ask the oracle once per state: two looks at one state
    agree, a GET moves nothing, and any write moves it, the app's or another
    program's."""

    async def states() -> list[bytes]:
        async with own_database(tmp_path) as url, Twins.running(url, own_cache_url()) as twins:
            engine = twins.cached.state.db.engine
            ticket = await add_ticket(twins.cached, title="Printer on fire")
            seen = [await database_state(engine), await database_state(engine)]
            async with app_client(twins.oracle) as oracle:
                assert (await oracle.get(paths.ticket_path(ticket.id))).status_code == 200
            seen.append(await database_state(engine))
            await add_ticket(twins.cached, title="Coffee machine down")
            seen.append(await database_state(engine))
            await _write_behind_the_apps_back(url, ticket.id)
            seen.append(await database_state(engine))
            return seen

    first, again, after_a_get, after_a_write, after_another_program = asyncio.run(states())

    assert first == again == after_a_get
    assert len({first, after_a_write, after_another_program}) == 3
