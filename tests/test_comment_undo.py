"""A comment's delete can be undone, as a ticket's can: the notice carries Undo,
which puts the comment back as it was (same id, same place), its count on the
row and a "comment restored" change in the history; by its author or an admin;
a second undo, or one of a comment that is not deleted, is a clear 4xx. A
comment added or removed is activity: its ticket's ``updated_at`` moves, so
``?sort=updated`` puts it first, and only its own row's count moves."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select
from starlette.applications import Starlette

from app import ids, paths
from app.models import Comment, DeletedComment, Ticket, TicketChange
from app.notices import EVENT
from app.tickets import comments, history
from app.tickets.undo import UNDO_WINDOW
from tests.helpers import HTMX, add_ticket, count_row_renders


async def comment(client: httpx.AsyncClient, ticket_id: str, body: str) -> str:
    answer = await client.post(paths.ticket_comments_path(ticket_id), data={"body": body})
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].rsplit("#comment-", 1)[1]


async def stored(app: Starlette, model: type, key: str) -> object:
    async with app.state.db.session() as session:
        return await session.get(model, key)


async def last_change(app: Starlette, ticket_id: str) -> tuple[str, str | None, str | None]:
    async with app.state.db.session() as session:
        found = await session.exec(
            select(TicketChange)
            .where(col(TicketChange.ticket_id) == ticket_id)
            .order_by(col(TicketChange.id).desc())
        )
        change = found.first()
    assert change is not None
    return (change.kind, change.old, change.new)


async def test_undo_puts_a_deleted_comment_back_with_its_count_and_its_history(
    app: Starlette, bob: httpx.AsyncClient
) -> None:
    ticket = await add_ticket(app)
    first = await comment(bob, ticket.id, "First.")
    made = await comment(bob, ticket.id, "Second, *emphasised*.")
    await comment(bob, ticket.id, "Third.")
    before = await stored(app, Comment, made)
    page = (await bob.get(paths.ticket_path(ticket.id))).text  # cached, with all three
    assert "Second" in page

    deleted = await bob.post(paths.comment_delete_path(ticket.id, made), headers=HTMX)
    undo = json.loads(deleted.headers["hx-trigger-after-settle"])[EVENT]["undo"]
    gone = (await bob.get(paths.ticket_path(ticket.id))).text
    restored = await bob.post(undo, headers={**HTMX, "HX-Target": ids.comment(made)})

    assert "Second" not in gone and "removed a comment" in gone
    assert restored.status_code == 200
    assert restored.text.startswith(f'<li id="{ids.comment(made)}" class="comment"')
    assert "<em>emphasised</em>" in restored.text
    assert 'class="comment__actions"' in restored.text  # its author's Edit and Delete, filled
    notice = json.loads(restored.headers["hx-trigger-after-settle"])[EVENT]
    assert notice == {"message": comments.RESTORED}
    back = await stored(app, Comment, made)
    assert isinstance(back, Comment) and isinstance(before, Comment)
    assert (back.body, back.created_at, back.author_id) == (
        before.body,
        before.created_at,
        before.author_id,
    )
    ticket_now = await stored(app, Ticket, ticket.id)
    assert isinstance(ticket_now, Ticket) and ticket_now.comment_count == 3
    assert await last_change(app, ticket.id) == (history.COMMENT_RESTORED, None, made)
    after = (await bob.get(paths.ticket_path(ticket.id))).text
    assert after.index(ids.comment(first)) < after.index(ids.comment(made))  # where it was
    assert "restored a comment" in after
    assert await stored(app, DeletedComment, made) is None


async def test_a_second_undo_and_an_undo_of_a_comment_not_deleted_are_refused(
    app: Starlette, bob: httpx.AsyncClient
) -> None:
    ticket, other = await add_ticket(app), await add_ticket(app)
    made = await comment(bob, ticket.id, "Here.")
    never = await comment(bob, ticket.id, "Never deleted.")
    await bob.post(paths.comment_delete_path(ticket.id, made))
    restore = paths.comment_restore_path(ticket.id, made)

    wrong_ticket = await bob.post(paths.comment_restore_path(other.id, made))
    first = await bob.post(restore)
    second = await bob.post(restore, headers=HTMX)
    not_deleted = await bob.post(paths.comment_restore_path(ticket.id, never))
    unknown = await bob.post(paths.comment_restore_path(ticket.id, other.id))

    assert wrong_ticket.status_code == 404 and comments.NOT_RESTORABLE in wrong_ticket.text
    assert first.status_code == 303
    assert first.headers["location"] == f"{paths.ticket_path(ticket.id)}#{ids.comment(made)}"
    assert second.status_code == 409 and comments.NOT_DELETED in second.text
    assert not_deleted.status_code == 409 and comments.NOT_DELETED in not_deleted.text
    assert unknown.status_code == 404 and comments.NOT_RESTORABLE in unknown.text
    ticket_now = await stored(app, Ticket, ticket.id)
    assert isinstance(ticket_now, Ticket) and ticket_now.comment_count == 2


async def test_only_the_author_or_an_admin_undoes_and_a_refusal_keeps_the_undo(
    app: Starlette,
    client: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    carol: httpx.AsyncClient,
    visitor: httpx.AsyncClient,
) -> None:
    ticket = await add_ticket(app)
    made = await comment(bob, ticket.id, "Bob's.")
    await client.post(paths.comment_delete_path(ticket.id, made))  # Ada, an admin
    restore = paths.comment_restore_path(ticket.id, made)

    by_carol = await carol.post(restore, headers=HTMX)
    by_visitor = await visitor.post(restore)
    by_bob = await bob.post(restore)

    assert by_carol.status_code == 403 and comments.AUTHOR_OR_ADMIN in by_carol.text
    assert by_visitor.status_code in (303, 403)
    assert by_bob.status_code == 303  # the refusals kept it restorable
    assert isinstance(await stored(app, Comment, made), Comment)
    await client.post(paths.comment_delete_path(ticket.id, made))
    assert (await client.post(restore)).status_code == 303  # an admin restores anyone's


async def test_an_undo_past_its_window_is_refused(app: Starlette, bob: httpx.AsyncClient) -> None:
    ticket = await add_ticket(app)
    made = await comment(bob, ticket.id, "Old news.")
    await bob.post(paths.comment_delete_path(ticket.id, made))
    async with app.state.db.transaction() as session:
        kept = await session.get(DeletedComment, made)
        assert kept is not None
        long_ago = kept.deleted_at - UNDO_WINDOW - timedelta(seconds=1)
        await session.exec(
            update(DeletedComment).where(col(DeletedComment.id) == made).values(deleted_at=long_ago)
        )

    late = await bob.post(paths.comment_restore_path(ticket.id, made))

    assert late.status_code == 404 and comments.NOT_RESTORABLE in late.text
    assert await stored(app, Comment, made) is None


@pytest.mark.parametrize("what", ["added", "removed"])
async def test_a_comment_puts_its_ticket_first_when_sorted_by_update(
    app: Starlette, bob: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    older = await add_ticket(app, title="Older")
    doomed = await comment(bob, older.id, "Soon gone.") if what == "removed" else None
    newer = await add_ticket(app, title="Newer")
    await bob.post(paths.ticket_update_path(newer.id), data={"status": "DONE"})
    listed = paths.tickets_path("sort=updated")
    before = (await bob.get(listed)).text
    assert before.index(ids.ticket(newer.id)) < before.index(ids.ticket(older.id))
    rendered = count_row_renders(monkeypatch)

    if doomed:
        answer = await bob.post(paths.comment_delete_path(older.id, doomed), headers=HTMX)
    else:
        answer = await bob.post(
            paths.ticket_comments_path(older.id), data={"body": "Ping."}, headers=HTMX
        )
    after = (await bob.get(listed)).text

    assert answer.status_code == 200
    assert after.index(ids.ticket(older.id)) < after.index(ids.ticket(newer.id))
    assert rendered == [older.id]  # the other row is served as it was
    row = after[after.index(ids.ticket(older.id)) :]
    row = row[: row.index(ids.ticket(newer.id))]
    assert ("1 comment<" in row) == (what == "added")
    stored_ticket = await stored(app, Ticket, older.id)
    assert isinstance(stored_ticket, Ticket) and stored_ticket.version == 1  # no field edited
