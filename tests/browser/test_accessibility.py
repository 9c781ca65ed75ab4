"""No accessibility failure on any page, in any state (tests/browser/states.py),
at 1280 and 390 px wide, by either checker (tests/browser/checkers.py): axe-core
finds no WCAG 2.2 AA violation, IBM's checker no violation.

Each (state, width) is set up once and both checkers look at it, each in a
subtest of its own: a failure reads ``SUBFAILED[axe] ...[home-desktop]`` or
``SUBFAILED[IBM] ...``, and one checker's failure does not stop the other.
(Until issue 25 each checker set up every state again, in test_ibm.py: the
same browser work twice.)

Each state is also photographed to test-artifacts/browser/states/ (ignored by
git), for a person to look at: the suite does not compare pictures.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.browser.checkers import axe_violations, describe, ibm_failures
from tests.browser.helpers import ARTIFACTS, Server
from tests.browser.states import FAILED_LOAD, STATES, WIDTHS, Setup


def test_axe_finds_a_planted_violation(page: Page) -> None:
    """The axe check can fail: the status badges' old orange, white on #f08c00."""
    page.goto("/tickets")
    page.evaluate(
        """() => {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = 'In progress';
        badge.style.background = '#f08c00';  // through the CSSOM: a style="" would be refused
        document.querySelector('#main h1').after(badge);
    }"""
    )

    rules = {violation["id"] for violation in axe_violations(page)}

    assert rules == {"color-contrast"}


def test_the_ibm_checker_finds_a_planted_failure(page: Page) -> None:
    """The IBM check can fail: a field with no label."""
    page.goto("/tickets")
    page.evaluate(
        """() => document.querySelector('#main h1').insertAdjacentHTML('afterend',
        '<form role="search"><input type="search"></form>')"""
    )

    rules = {failure["rule"] for failure in ibm_failures(page)}

    assert "input_label_exists" in rules


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("state", STATES, ids=lambda setup: setup.__name__)
def test_no_accessibility_failure(
    new_page: Callable[..., Page],
    server: Server,
    unique: Callable[[str], str],
    expected_errors: list[str],
    subtests: pytest.Subtests,
    state: Setup,
    width: str,
) -> None:
    expected_errors.append(FAILED_LOAD)
    page = new_page(viewport=WIDTHS[width])
    state(page, server, unique("A11y"))
    page.screenshot(path=ARTIFACTS / "states" / f"{state.__name__}-{width}.png", full_page=True)

    with subtests.test("axe"):
        violations = axe_violations(page)
        assert not violations, describe(violations)
    with subtests.test("IBM"):
        failures = ibm_failures(page)
        assert not failures, json.dumps(failures, indent=2, ensure_ascii=False)
