"""A deterministic synthetic school, written as a Canvas bundle of ndjson files.

:func:`generate` writes ``terms``, ``courses``, ``sections``, ``users``,
``assignment_groups``, ``assignments``, ``enrollments`` and ``submissions`` in the
Canvas REST API's own JSON shapes (as ``/api/v1`` returns them to an admin), one
object a line, ready for :mod:`tracker.bundle` and the sync. The same arguments give
byte-identical files.

What the data holds, so that analytics have something to find:

- Each student has an ability; scores vary around it by course and assignment. About
  one student in eight declines from some day on, mostly during the Fall term; weaker
  students miss work and hand it in late more often (:mod:`.people`).
- Two terms: Spring 2026 (over: every past assignment graded) and Fall 2026, in
  progress at the snapshot time :data:`SNAPSHOT` (2026-10-15T18:00:00Z): past work is
  graded, recent work partly ungraded, future work an ``unsubmitted`` placeholder
  (:mod:`.work`).
- Enrollment ``grades`` are computed from the student's submissions the way Canvas
  does without drop rules (:mod:`.grading`).
- The Spring courses are over, as Canvas shows them: concluded (the course and its
  students' enrollments ``completed``) or left to their end date (``available``, the
  enrollments still ``active``); a few enrollments ``inactive`` or ``deleted``:
  withdrawn before the end. Every grade is posted, ``final_score`` and ``final_grade``
  from all the work. Some students slump in a course, weaker ones more often; about one
  enrollment in seven fails (under 60), two to five in a hundred withdraw, and missing,
  late or falling work in the first weeks foretells failing, noisily, so a risk model
  can be fitted and evaluated on them (:mod:`.outcomes`; :attr:`SampleSummary.past_term`
  counts them).
- ``revision=N`` is the same school after N rounds of regrading, each changing the
  scores of about ``changed_fraction`` of all submissions, so syncing 0, 1, 2, … in
  turn re-syncs about 1% each time (:mod:`.regrade`).
- ``edge_cases=True`` adds one course (nicknamed "My favourite class ✨", originally
  "Edge cases: …") holding the documented Canvas corner cases of :data:`EDGE_CASES`,
  at any scale (:mod:`.edge`).

Memory stays flat: courses are generated and written one at a time; only the people
(a few hundred bytes a student) are held throughout. Records are dumped with orjson:
a million submissions take about half a minute on one core.

Where things are: :mod:`.run` holds :func:`generate`, which drives :mod:`.school` (the
generator: people, then one course at a time) and :mod:`.edge` into :mod:`.sink` (the
files). What is drawn comes from :mod:`.names`, :mod:`.people`, :mod:`.catalog` (subjects,
kinds of assignment), :mod:`.work` (submissions) and :mod:`.outcomes` (past-term fates);
:mod:`.records` gives the records their Canvas shapes, :mod:`.grading` their grades;
:mod:`.model` and :mod:`.dates` hold what the others share.
"""

from tracker.sample.dates import SNAPSHOT
from tracker.sample.edge import EDGE_CASES
from tracker.sample.run import SampleSummary, generate

__all__ = ["EDGE_CASES", "SNAPSHOT", "SampleSummary", "generate"]
