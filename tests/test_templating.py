"""The Jinja environment: what every render's context starts from."""

from __future__ import annotations

from app import templating
from app.templating import environment


def test_a_template_s_globals_are_a_plain_dict_of_the_environment_s() -> None:
    """Each render copies its template's globals into its context: a plain
    dict copies at C speed, Jinja's ChainMap a Python lookup per name."""
    template = environment.get_template("tickets/_legend.html")

    assert type(template.globals) is dict
    assert template.globals == dict(environment.globals)
    assert template.new_context({}).get("tickets_path") is templating.paths.tickets_path
