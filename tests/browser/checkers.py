"""The two accessibility checkers, run in a page Playwright drives.

- axe-core 4.12 (from the axe-playwright-python package), WCAG 2.2 AA rules:
  ``axe_violations``.
- IBM's checker: the rules of the ``accessibility-checker`` npm package, from
  its engine ``accessibility-checker-engine`` (the ``ace.js`` that the checker
  injects into each page it checks), installed by scripts/audit-deps under
  audit/, never fetched from the network; with the checker's default policy
  (``IBM_Accessibility``). A failure is a result it reports as a violation
  (``[VIOLATION, FAIL]``); what it asks a person to review (``POTENTIAL``,
  ``MANUAL``) is not counted: ``ibm_failures``.

Both only read the document, so both can look at the same page state.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Page

from app.settings import ROOT

WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ENGINE = ROOT / "audit" / "node_modules" / "accessibility-checker-engine" / "ace.js"
POLICY = "IBM_Accessibility"  # the checker's default policy


def axe_violations(page: Page) -> list[dict[str, Any]]:
    page.evaluate(AXE_SCRIPT)
    assert page.evaluate("axe.version").startswith("4.12")
    options = {"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]}
    results = page.evaluate("options => axe.run(document, options)", options)
    violations: list[dict[str, Any]] = results["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """axe's violations, shortened for a failure message."""
    return json.dumps(
        [
            {
                "rule": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "where": [node["target"] for node in v["nodes"]][:5],
                "why": [node["failureSummary"] for node in v["nodes"]][:2],
            }
            for v in violations
        ],
        indent=2,
        ensure_ascii=False,
    )


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
