"""Cache dependencies derived from the SQL the app runs: nothing written by hand.

A render's reads record what they depend on (``reads.py``), and a write's
rows record what they moved (``writes.py``), through SQLAlchemy's own hooks on
the app's sessions (``hooks.py``). Both speak in the names of ``names.py``:

=========================  =============================================  =================
dependency                 what it stands for                             moved by
=========================  =============================================  =================
``ticket:<id>``            one row, by primary key                        any write of it
``ticket?``                which rows the table holds                     an insert, a delete
``ticket?status=OPEN``     which rows hold that value (a membership       an insert, delete or
                           column: an enum, a boolean, a foreign key)     change to or from it
``ticket?status``          which rows hold each value of it               a bulk UPDATE of it
``ticket.title``           the column's values, row by row                an UPDATE that changes it
``ticket``                 anything in the table                          any write of the table
=========================  =============================================  =================

A primary-key lookup depends on its rows; a scan on the membership its
equalities name (or the table's), on the columns its other conditions and
its order read, and on every row it returned; raw SQL on the columns it
declares (``reads.Reads``) or else the whole table. Coarser is allowed, missing
never: the oracle (tests/test_fresh.py) checks every answer against a render
with the cache off.

The schema says the rest (``Table.info``): ``{"untracked": True}`` for a table no
render reads (its writes move nothing), ``{"kept_by": (table, column)}`` for one
that triggers keep from another table's rows (``ticket_count`` from
``ticket.status``): a write that moves that column's membership moves it too.
"""
