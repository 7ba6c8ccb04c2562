-- Course snapshots in layer 2: each course's statistics as they stood after a sync.
--
-- The figures are canvas.course_figures' (migration 0009), as the course statistics
-- report shows them. Like every layer 2 table, a row is appended only when a value
-- differs from the course's latest snapshot, so an unchanged re-sync writes nothing.

-- name: record_course_snapshots
-- Append a snapshot of each course in course_ids whose statistics changed since its latest one.
WITH figures AS (
    SELECT
        f.course_id,
        f.enrolled AS enrolled_students,
        f.mean_score,
        f.median_score,
        f.missing_rate,
        f.score_distribution
    FROM canvas.course_figures(:'course_ids'::bigint[]) AS f
)
INSERT INTO history.course_snapshots (
    course_id, sync_id, recorded_at,
    enrolled_students, mean_score, median_score, missing_rate, score_distribution
)
SELECT
    n.course_id,
    :'sync_id'::bigint,
    now(),
    n.enrolled_students,
    n.mean_score,
    n.median_score,
    n.missing_rate,
    n.score_distribution
FROM figures AS n
LEFT JOIN LATERAL (
    SELECT
        cs.enrolled_students,
        cs.mean_score,
        cs.median_score,
        cs.missing_rate,
        cs.score_distribution
    FROM history.course_snapshots AS cs
    WHERE cs.course_id = n.course_id
    ORDER BY cs.recorded_at DESC, cs.id DESC
    LIMIT 1
) AS latest ON true
WHERE latest.enrolled_students IS NULL
   OR (n.enrolled_students, n.mean_score, n.median_score, n.missing_rate, n.score_distribution)
      IS DISTINCT FROM
      (latest.enrolled_students, latest.mean_score, latest.median_score, latest.missing_rate,
       latest.score_distribution)
RETURNING course_id;

-- name: course_snapshot_history
-- The snapshots of one course, oldest first.
SELECT
    cs.id,
    cs.course_id,
    cs.sync_id,
    cs.recorded_at,
    cs.enrolled_students,
    cs.mean_score,
    cs.median_score,
    cs.missing_rate,
    cs.score_distribution
FROM history.course_snapshots AS cs
WHERE cs.course_id = :'course_id'::bigint
ORDER BY cs.recorded_at, cs.id;
