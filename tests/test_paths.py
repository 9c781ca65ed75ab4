"""Each path helper agrees with the route table; a next path after signing in stays here."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from app import paths


@pytest.mark.parametrize(
    ("helper", "route_name", "params"),
    [
        pytest.param(paths.home_path(), "home", {}, id="home"),
        pytest.param(paths.tickets_path(), "tickets", {}, id="tickets"),
        pytest.param(paths.ticket_path("a1"), "ticket", {"ticket_id": "a1"}, id="ticket"),
        pytest.param(
            paths.ticket_number_path(123), "ticket_by_number", {"number": 123}, id="number"
        ),
        pytest.param(
            paths.ticket_update_path("a1"), "ticket_update", {"ticket_id": "a1"}, id="update"
        ),
        pytest.param(
            paths.ticket_delete_path("a1"), "ticket_delete", {"ticket_id": "a1"}, id="delete"
        ),
        pytest.param(
            paths.ticket_restore_path("a1"), "ticket_restore", {"ticket_id": "a1"}, id="restore"
        ),
        pytest.param(paths.tickets_bulk_path(), "tickets_bulk", {}, id="bulk"),
        pytest.param(paths.tickets_restore_path(), "tickets_restore", {}, id="bulk undo"),
        pytest.param(paths.counts_source_path(), "counts_source", {}, id="counts"),
        pytest.param(paths.list_source_path(), "list_source", {}, id="list"),
        pytest.param(
            paths.ticket_source_path("a1"), "ticket_source", {"ticket_id": "a1"}, id="view"
        ),
        pytest.param(paths.legend_source_path(), "legend_source", {}, id="legend"),
        pytest.param(
            paths.change_revert_path("a1", 7),
            "change_revert",
            {"ticket_id": "a1", "change_id": 7},
            id="revert",
        ),
        pytest.param(
            paths.timeline_source_path("a1"), "timeline_source", {"ticket_id": "a1"}, id="timeline"
        ),
        pytest.param(paths.signup_path(), "signup", {}, id="signup"),
        pytest.param(paths.login_path(), "login", {}, id="login"),
        pytest.param(paths.logout_path(), "logout", {}, id="logout"),
        pytest.param(paths.metrics_path(), "metrics", {}, id="metrics"),
        pytest.param(paths.events_path(), "events", {}, id="events"),
        pytest.param(paths.account_hole_path(), "hole", {"rest": "account"}, id="account hole"),
        pytest.param(
            paths.delete_hole_path("a1", "row", None),
            "hole",
            {"rest": "tickets/a1/delete/row/none"},
            id="delete hole",
        ),
        pytest.param(
            paths.revert_hole_path("a1", 7, None),
            "hole",
            {"rest": "tickets/a1/changes/7/revert/none"},
            id="revert hole",
        ),
    ],
)
def test_path_helper_matches_the_route(
    app: Starlette, helper: str, route_name: str, params: dict[str, str]
) -> None:
    assert helper == app.url_path_for(route_name, **params)


@pytest.mark.parametrize(
    ("value", "goes_to"),
    [
        ("/tickets/42", "/tickets/42"),
        ("https://evil.example/", "/tickets"),
        ("//evil.example/", "/tickets"),
        ("/\\evil.example", "/tickets"),
        ("", "/tickets"),
        (None, "/tickets"),
    ],
)
def test_after_signing_in_only_a_local_path(value: str | None, goes_to: str) -> None:
    assert paths.safe_next(value) == goes_to
