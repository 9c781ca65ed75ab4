"""edge/tickets.vcl says what app/edge_contract.py names: each line of the VCL
that carries a part of the contract is rebuilt here from the module and must be
in the file as it is, and the delete rule the VCL runs decides as the app does."""

from __future__ import annotations

import pytest

from app import edge_contract as contract
from app.accounts.viewer import Viewer
from app.cache.context import CLOCK_HEADER, READ_AFTER_COOKIE, READ_AFTER_HEADER
from app.cache.keys import CLOCK_DIGITS_MAX
from app.settings import ROOT

VCL_LINES = {line.strip() for line in (ROOT / "edge" / "tickets.vcl").read_text().splitlines()}
ADA, BOB = "0b6f2a36-3c1e-4f0e-9d1a-1a2b3c4d5e6f", "7d1e9c2a-5b4f-4e3d-8c2b-6f5e4d3c2b1a"
TICKET = "5f0c6a1e-2d3b-4c5a-9e8f-7a6b5c4d3e2f"


def _encodings() -> list[str]:
    """How the VCL narrows Accept-Encoding to one of the encodings the app keeps."""
    lines, keyword = [], "if"
    for encoding in contract.ENCODINGS:
        if encoding is None:
            lines.append("unset req.http.Accept-Encoding;")
        else:
            lines.append(f'{keyword} (req.http.Accept-Encoding ~ "\\b{encoding}\\b") {{')
            keyword = "} elsif"
    return lines


EXPECTED = [
    pytest.param(
        f'if (req.esi_level > 0 && req.url ~ "^{contract.DELETE_HOLES}" &&', id="delete holes"
    ),
    pytest.param(f'req.http.Cookie ~ "(^|;\\s*){contract.VIEWER_COOKIE}=[^;]") {{', id="viewer"),
    pytest.param(
        "set req.http.x-viewer = regsub(req.http.Cookie,"
        f' "^(.*;\\s*)?{contract.VIEWER_COOKIE}=([^;]*).*$", "\\2");',
        id="viewer's value",
    ),
    pytest.param(
        f'if (req.http.x-viewer == "{contract.ADMIN}"'
        ' || req.http.x-viewer == regsub(req.url, "^.*/", "")) {',
        id="may delete",
    ),
    pytest.param(f'set req.url = req.url + "?{contract.may_query(True)}";', id="may"),
    pytest.param(f'set req.url = req.url + "?{contract.may_query(False)}";', id="may not"),
    pytest.param(f'if (req.url ~ "^{contract.HOLES}") {{', id="holes"),
    pytest.param(f'if (req.http.Cookie ~ "(^|;\\s*){contract.SESSION_COOKIE}=") {{', id="session"),
    pytest.param(
        f'if (req.http.x-edge-probe !~ "^({"|".join(contract.ASKERS)})$") {{',
        id="probe askers",
    ),
    pytest.param(f'set req.http.x-edge-who = "{contract.PERSON}";', id="person"),
    pytest.param(f'set req.http.x-edge-who = "{contract.ANONYMOUS}";', id="anonymous"),
    *(pytest.param(line, id=f"encoding {n}") for n, line in enumerate(_encodings())),
    pytest.param(
        f'set bereq.http.{contract.EDGE_SECRET_HEADER} = "EDGE_SECRET_VALUE";', id="the edge's mark"
    ),
]


@pytest.mark.parametrize("line", EXPECTED)
def test_the_vcl_says_what_the_contract_names(line: str) -> None:
    assert line in VCL_LINES


def edge_decides(viewer_cookie: str, src: str) -> bool:
    """The VCL's "may delete" line above, word for word: the cookie is the
    admin's, or the src's last segment."""
    return viewer_cookie == contract.ADMIN or viewer_cookie == src.rsplit("/", 1)[1]


@pytest.mark.parametrize("author", [ADA, None], ids=["written by Ada", "by nobody"])
@pytest.mark.parametrize("place", contract.PLACES)
@pytest.mark.parametrize(
    "viewer",
    [
        pytest.param(Viewer(ADA, "Ada", False, 0.0), id="Ada"),
        pytest.param(Viewer(BOB, "Bob", False, 0.0), id="Bob"),
        pytest.param(Viewer(BOB, "Bob", True, 0.0), id="Bob, an admin"),
    ],
)
def test_the_edge_offers_delete_exactly_where_the_app_does(
    viewer: Viewer, place: str, author: str | None
) -> None:
    src = contract.delete_hole_path(TICKET, place, author)
    cookie = contract.viewer_cookie(viewer.id, is_admin=viewer.is_admin)

    assert edge_decides(cookie, src) == viewer.may_delete(author)
    assert "?" not in src  # the edge appends its may= as the query


@pytest.mark.parametrize("author", [ADA, None], ids=["written by Ada", "by nobody"])
@pytest.mark.parametrize("place", contract.PLACES)
def test_a_delete_hole_src_reads_back_as_it_was_made(place: str, author: str | None) -> None:
    src = contract.delete_hole_path(TICKET, place, author)

    expected = contract.OwnedHole("delete", author, {"ticket": TICKET, "place": place})
    assert contract.parse_owned_hole(src) == expected
    assert src.startswith(contract.DELETE_HOLES) and src.startswith(contract.HOLES)


@pytest.mark.parametrize(
    "src",
    [
        pytest.param(contract.ACCOUNT_HOLE, id="the account hole"),
        pytest.param(f"/holes/tickets/{TICKET}/delete/aside/none", id="an unknown place"),
        pytest.param(f"/holes/tickets/{TICKET}/delete/row/someone", id="not an author id"),
        pytest.param(f"/holes/tickets/{TICKET}/delete/row/none/more", id="more after it"),
        pytest.param(f"/holes/tickets/{TICKET}/comments/12/none", id="not a comment id"),
        pytest.param(f"/holes/tickets/{TICKET}/changes/1234567890/revert/none", id="10 digits"),
        pytest.param("/holes/tickets/editor/someone", id="an editor who is no id"),
    ],
)
def test_other_srcs_are_no_hole_the_edge_decides(src: str) -> None:
    assert contract.parse_owned_hole(src) is None


@pytest.mark.parametrize(
    ("value", "may"),
    [("1", True), ("0", False), ("yes", None), ("", None)],
)
def test_may_reads_what_the_edge_writes(value: str, may: bool | None) -> None:
    assert contract.read_may(value) is may
    if may is not None:
        assert contract.may_query(may) == f"{contract.MAY}={value}"


# -- read your own writes: the cache library's names, in the VCL's own block ------------

READ_AFTER_LINES = [
    pytest.param(
        f'if (req.http.Cookie ~ "(^|;\\s*){READ_AFTER_COOKIE}='
        f'[0-9]{{1,{CLOCK_DIGITS_MAX}}}(;|$)") {{',
        id="the token's cookie",
    ),
    pytest.param(f'"^(.*;\\s*)?{READ_AFTER_COOKIE}=([0-9]+).*$", "\\2");', id="the token's value"),
    pytest.param(
        f"set req.http.{READ_AFTER_HEADER.decode()} = regsub(req.http.Cookie,",
        id="handed on in a header",
    ),
    pytest.param(
        f'regsub(obj.http.{CLOCK_HEADER.decode()}, "^(\\d*?)\\d{{0,8}}$", "\\1"), 0);',
        id="the object's clock",
    ),
    pytest.param(
        f'regsub(req.http.{READ_AFTER_HEADER.decode()}, "^(\\d*?)\\d{{0,8}}$", "\\1"), 0);',
        id="the token's clock",
    ),
]


@pytest.mark.parametrize("line", READ_AFTER_LINES)
def test_the_vcl_reads_the_token_and_the_clock_the_cache_names(line: str) -> None:
    assert line in VCL_LINES
