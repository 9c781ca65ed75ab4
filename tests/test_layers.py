"""No module of the app imports itself back, even at type level.

``scripts/check`` runs import-linter's ``no-cycles`` contract, which compares
the children of each package: a cycle through a package's own ``__init__``
(``app.cache`` -> ``app.cache.tags`` -> ``app.cache``) escapes it. This
follows every import, ``if TYPE_CHECKING:`` ones included (grimp's default).
"""

from __future__ import annotations

import grimp


def test_no_import_cycle_among_the_app_s_modules() -> None:
    graph = grimp.build_graph("app", cache_dir=None)
    cycles: dict[frozenset[str], str] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycles.setdefault(frozenset(back), " -> ".join((importer, *back)))
    assert not cycles, "\n".join(sorted(cycles.values()))
