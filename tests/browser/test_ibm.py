"""IBM's accessibility checker finds no violation in any state the axe suite
covers (test_accessibility.STATES), at 1280 and 390 px wide.

The rules are those of the ``accessibility-checker`` npm package: its engine,
``accessibility-checker-engine`` (the ``ace.js`` that the checker injects into
each page it checks), installed by scripts/audit-deps under audit/, never
fetched from the network. It runs here in the pages Playwright already drives,
with the checker's default policy (``IBM_Accessibility``). A failure is a
result the checker reports as a violation (``[VIOLATION, FAIL]``); what it
asks a person to review (``POTENTIAL``, ``MANUAL``) is not counted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from playwright.sync_api import Page

from app.settings import ROOT
from tests.browser.helpers import Server
from tests.browser.test_accessibility import FAILED_LOAD, STATES, WIDTHS, Setup

ENGINE = ROOT / "audit" / "node_modules" / "accessibility-checker-engine" / "ace.js"
POLICY = "IBM_Accessibility"  # the checker's default policy


@cache
def engine() -> str:
    if not ENGINE.is_file():
        pytest.fail(f"{ENGINE} is missing: run `bash scripts/audit-deps`")
    return ENGINE.read_text()


def ibm_failures(page: Page) -> list[dict[str, Any]]:
    # Evaluated, not added as a <script>: the page's Content-Security-Policy
    # would refuse an inline script, and rightly.
    page.evaluate(engine() + "\n;0")
    failures: list[dict[str, Any]] = page.evaluate(
        """async (policy) => {
            const report = await new ace.Checker().check(document, [policy]);
            return report.results
                .filter((r) => r.value[0] === "VIOLATION" && r.value[1] === "FAIL")
                .map((r) => ({ rule: r.ruleId, where: r.path.dom, why: r.message }));
        }""",
        POLICY,
    )
    return failures


def test_the_ibm_checker_finds_a_planted_failure(page: Page) -> None:
    """The check below can fail: a field with no label."""
    page.goto("/tickets")
    page.evaluate(
        """() => document.querySelector('#main h1').insertAdjacentHTML('afterend',
        '<form role="search"><input type="search"></form>')"""
    )

    rules = {failure["rule"] for failure in ibm_failures(page)}

    assert "input_label_exists" in rules


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("state", STATES, ids=lambda setup: setup.__name__)
def test_no_ibm_failure(
    new_page: Callable[..., Page],
    server: Server,
    unique: Callable[[str], str],
    expected_errors: list[str],
    state: Setup,
    width: str,
) -> None:
    expected_errors.append(FAILED_LOAD)
    page = new_page(viewport=WIDTHS[width])
    state(page, server, unique("IBM"))

    failures = ibm_failures(page)

    assert not failures, json.dumps(failures, indent=2, ensure_ascii=False)
