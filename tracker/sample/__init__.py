"""A deterministic synthetic school, written as a Canvas bundle of ndjson files.

:func:`generate` writes ``terms``, ``courses``, ``sections``, ``users``,
``assignment_groups``, ``assignments``, ``enrollments`` and ``submissions`` in the
Canvas REST API's own JSON shapes (as ``/api/v1`` returns them to an admin), one
object a line, ready for :mod:`tracker.bundle` and the sync. The same arguments give
byte-identical files.

What the data holds, so that analytics have something to find:

- Each student has an ability; scores vary around it by course and assignment. About
  one student in eight declines from some day on, mostly during the Fall term (scores
  fall over six weeks and stay low, more work goes missing, less activity). Weaker
  students miss work and hand it in late more often.
- Two terms: Spring 2026 (over: every past assignment graded) and Fall 2026, in
  progress at the snapshot time :data:`SNAPSHOT` (2026-10-15T18:00:00Z): due dates
  spread over the term, so past work is graded, recent work partly ungraded, future
  work an ``unsubmitted`` placeholder.
- Enrollment ``grades`` are computed from the student's submissions the way Canvas
  does without drop rules: percentage of points (or of weighted groups when the course
  applies group weights), excused work left out, current scores over graded work,
  final scores counting ungraded work as zero, ``current_*`` over posted grades only
  and ``unposted_*`` over all of them.
- ``revision=N`` is the same school after N rounds of regrading: each round changes
  the score of about ``changed_fraction`` of all submissions (score, grade,
  entered_score, entered_grade and graded_at change; nothing else) and recomputes the
  affected enrollments' grades. Revision N differs from revision N-1 by one round, so
  syncing 0, 1, 2, … in turn re-syncs about 1% each time.
- ``edge_cases=True`` adds one course (nicknamed "My favourite class ✨", originally
  "Edge cases: …") holding the documented Canvas corner cases of :data:`EDGE_CASES`,
  at any scale.

Memory stays flat: courses are generated and written one at a time; only the people
(a few hundred bytes a student) are held throughout. Records are dumped with orjson:
a million submissions take about half a minute on one core.
"""

from tracker.sample.dates import SNAPSHOT
from tracker.sample.edge import EDGE_CASES
from tracker.sample.run import SampleSummary, generate

__all__ = ["EDGE_CASES", "SNAPSHOT", "SampleSummary", "generate"]
