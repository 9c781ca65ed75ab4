"""The app's holes by audience (app/holes.py): whom each is for, and that its
fill is the same for everyone in that audience and for everyone outside it,
which is what lets the cache fill a page once per audience set."""

from __future__ import annotations

import uuid
from time import time as real_time

import pytest

from app import edge_contract
from app.accounts.viewer import Viewer
from app.holes import audience, fill

ADA, BOB = str(uuid.uuid4()), str(uuid.uuid4())
TICKET, COMMENT = str(uuid.uuid4()), str(uuid.uuid4())
LATER = real_time() + 3600
PEOPLE = [
    Viewer(ADA, "Ada", False, LATER),
    Viewer(BOB, "Bob", False, LATER),
    Viewer(str(uuid.uuid4()), "Carol", False, LATER),  # in no audience
    Viewer(str(uuid.uuid4()), "Root", True, LATER),  # an admin: in every one
]


@pytest.mark.parametrize(
    "src, expected",
    [
        pytest.param(edge_contract.delete_hole_path(TICKET, "row", ADA), ADA, id="delete"),
        pytest.param(edge_contract.delete_hole_path(TICKET, "page", None), "none", id="no-author"),
        pytest.param(edge_contract.comment_hole_path(TICKET, COMMENT, BOB), BOB, id="comment"),
        pytest.param(edge_contract.revert_hole_path(TICKET, 7, ADA), ADA, id="revert"),
        pytest.param(edge_contract.editor_hole_path(BOB), BOB, id="editor"),
        pytest.param(edge_contract.editor_hole_path(None), "none", id="no-editor"),
        pytest.param("/holes/what", "none", id="no-hole"),
    ],
)
def test_a_hole_s_fill_depends_only_on_whether_its_reader_is_in_its_audience(
    src: str, expected: str
) -> None:
    assert audience(src) == expected
    named = frozenset({expected})
    inside = {fill(src, p) for p in PEOPLE if p.audiences(named)}
    outside = {fill(src, p) for p in PEOPLE if not p.audiences(named)}
    assert len(inside) <= 1 and len(outside) == 1
    assert outside == {b""}  # nothing for those it is not for (as for nobody)
    assert fill(src, None) == b""


def test_the_account_hole_is_personal() -> None:
    src = edge_contract.account_hole_path()
    assert audience(src) is None
    assert len({fill(src, p) for p in PEOPLE}) == len(PEOPLE)
    assert b"Signed in as <strong>Ada</strong>" in fill(src, PEOPLE[0])
    assert b"(admin)" in fill(src, PEOPLE[3]) and b"(admin)" not in fill(src, PEOPLE[0])
    assert b"Sign in" in fill(src, None)


def test_a_person_is_in_their_own_audience_and_an_admin_in_every_one() -> None:
    ada, _, carol, root = PEOPLE
    named = frozenset({ADA, BOB, "none"})
    assert ada.audiences(named) == frozenset({ADA})
    assert carol.audiences(named) == frozenset()
    assert root.audiences(named) == named
