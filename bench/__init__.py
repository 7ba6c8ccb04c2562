"""The benchmark: tracker beside the physical floor and its peers, in one run on the same data.

``python -m bench --scale small`` (or ``tracker bench``) generates the sample school,
starts a fresh embedded PostgreSQL (or uses ``--database-url``), and measures, each
step in a child process of its own against a fresh database copied from a template:

- the floor: ``psql \\copy`` of the submissions (CSV) into the same indexed table;
- tracker: first full sync, re-sync unchanged, re-sync with 1% changed, undo;
- the peers: SQLAlchemy 2 ORM (per-object ``merge``, bulk insert) and the upsert style
  of Canvas Data 2's client (``executemany`` of ``INSERT … ON CONFLICT DO UPDATE``);
- the report statements and query builders that exist, after ANALYZE.

It does so at one shape of the school or both (``--shape``: many small courses, or the
same submissions as few courses of 1,000 students), prints tables (each sync's slowest
statements among them) and writes the same figures as JSON (``--json``). Modules:
``scales`` (the sizes), ``data`` (bundles and the floor's CSV files), ``server``
(PostgreSQL, template databases, row-change counters), ``child`` (one measured step
in a child process), ``peers``, ``queries``, ``run`` (the whole run), ``report``
(table and JSON) and ``cli`` (the command).
"""
