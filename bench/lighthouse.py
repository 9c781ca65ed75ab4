"""Lighthouse 12 on the list page, as a phone on a slow network sees it.

``scripts/lighthouse`` (and the end of ``scripts/bench``) runs this: the app
as scripts/run serves it, over a new SQLite database with 300 generated
tickets, audited by Lighthouse's default mobile settings (a simulated
Moto G Power, slow 4G, 4x CPU slowdown) in Debian's Chromium. It prints each
category's score and the figures behind performance; with ``--min-performance``
it fails below that score (issue 23 asks for 95).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from app.seed import seed_many
from app.settings import ROOT
from harness.app_server import AppServer

LIGHTHOUSE = ROOT / "audit" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
FIGURES = (
    "first-contentful-paint",
    "largest-contentful-paint",
    "total-blocking-time",
    "max-potential-fid",
    "cumulative-layout-shift",
    "speed-index",
)


def audit(url: str, report: Path) -> dict[str, Any]:
    """Lighthouse's JSON report of ``url`` (mobile, its defaults)."""
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        "--output=json",
        f"--output-path={report}",
    ]
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": CHROMIUM})
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--path", default="/tickets")
    parser.add_argument("--min-performance", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lighthouse.") as folder:
        database_url = f"sqlite+aiosqlite:///{Path(folder) / 'lighthouse.db'}"
        asyncio.run(seed_many(database_url, args.tickets))
        server = AppServer(Path(folder) / "server.log", env={"DATABASE_URL": database_url})
        server.start()
        try:
            result = audit(server.base_url + args.path, Path(folder) / "report.json")
        finally:
            server.stop()
    scores = {name: round(result["categories"][name]["score"] * 100) for name in CATEGORIES}
    print(
        f"lighthouse {result['lighthouseVersion']}, mobile (simulated slow 4G, 4x CPU), "
        f"{args.path} with {args.tickets} tickets: "
        + ", ".join(f"{name} {score}" for name, score in scores.items())
    )
    for name in FIGURES:
        found = result["audits"][name]
        print(f"  {name}: {found.get('displayValue', '')} (score {found['score']})")
    if scores["performance"] < args.min_performance:
        print(f"lighthouse: performance {scores['performance']} < {args.min_performance}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
