"""The benchmark: tracker beside the physical floor and its peers, in one run on the same data.

``python -m bench --scale small`` (or ``tracker bench``) generates the sample school,
starts a fresh embedded PostgreSQL (or uses ``--database-url``), and measures, each
step in a child process of its own against a fresh database copied from a template:

- the floor: ``psql \\copy`` of the submissions (CSV) into the same indexed table;
- tracker: first full sync, re-sync unchanged, re-sync with 1% changed, undo;
- the peers: SQLAlchemy 2 ORM (per-object ``merge``, bulk insert), the upsert style
  of Canvas Data 2's client (``executemany`` of ``INSERT … ON CONFLICT DO UPDATE``) and
  the way its DAP client loads a table (``COPY`` of full rows into a stage, then one
  ``INSERT … SELECT … ON CONFLICT DO UPDATE``);
- the report statements and query builders that exist, after ANALYZE;
- with ``--live`` (alone) or at ``--scale full``: tracker's live sync (full, incremental
  unchanged, incremental after 1% regraded) from a Canvas-like server of the bench's own
  that answers after a fixed delay, behind Canvas's throttle.

Each step reports, beside its time and peak memory, what it cost beyond time: the
client's CPU, its backend's CPU, the WAL it wrote, and the sizes of the tables it left.
It does so at one shape of the school or both (``--shape``: many small courses, or the
same submissions as few courses of 1,000 students), prints tables (each sync's slowest
statements among them) and writes the same figures as JSON (``--json``). Modules:
``scales`` (the sizes), ``data`` (bundles and the floor's CSV files), ``server``
(PostgreSQL, template databases, row-change counters, WAL, backend CPU and sizes),
``child`` (one measured step in a child process: its time and cost), ``peers``, ``queries``, ``throttle`` (Canvas's leaky bucket),
``canvas`` (the Canvas-like server), ``live`` (the live step), ``run`` (the whole run),
``results`` (what it found), ``report`` (table and JSON) and ``cli`` (the command).
"""
