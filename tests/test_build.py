"""The build id follows the code and templates that render pages, and nothing else."""

from __future__ import annotations

from pathlib import Path

from app.build import build_id


def test_the_build_id_changes_with_a_template_or_code_and_only_then(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "templates" / "tickets").mkdir(parents=True)
    (tmp_path / "app" / "views.py").write_text("x = 1\n")
    (tmp_path / "templates" / "tickets" / "row.html").write_text("<li>{{ t }}</li>")
    (tmp_path / "README.md").write_text("not rendering code")
    first = build_id(tmp_path)

    (tmp_path / "README.md").write_text("changed")
    assert build_id(tmp_path) == first
    (tmp_path / "templates" / "tickets" / "row.html").write_text("<li class=x>{{ t }}</li>")
    after_template = build_id(tmp_path)
    (tmp_path / "app" / "views.py").write_text("x = 2\n")
    after_code = build_id(tmp_path)

    assert len({first, after_template, after_code}) == 3
    assert build_id() == build_id()  # stable for one checkout
