-- Course snapshots in layer 2: each course's statistics as they stood after a sync.
--
-- The figures are those of sql/reports/course_statistics.sql (enrolled students, mean
-- and median current score, score distribution, missing rate), computed the same way:
-- keep the two in step. Like every layer 2 table, a row is appended only when a value
-- differs from the course's latest snapshot, so an unchanged re-sync writes nothing.

-- name: record_course_snapshots
-- Append a snapshot of each course in course_ids whose statistics changed since its latest one.
WITH courses AS (
    SELECT c.id
    FROM canvas.courses AS c
    WHERE c.id = ANY(:'course_ids'::bigint[])
),
students AS (
    SELECT
        e.user_id,
        e.course_id,
        (array_agg(e.current_score ORDER BY e.id))[1] AS current_score,
        max(e.last_activity_at) AS last_activity_at
    FROM canvas.active_students AS e
    WHERE e.course_id = ANY(:'course_ids'::bigint[])
    GROUP BY e.user_id, e.course_id
),
clocks AS (
    SELECT
        st.course_id,
        least(coalesce(max(st.last_activity_at), now()), now()) AS clock
    FROM students AS st
    GROUP BY st.course_id
),
work AS (
    SELECT
        s.course_id,
        count(*) FILTER (
            WHERE coalesce(s.cached_due_date, a.due_at) <= k.clock
               OR coalesce(s.missing, false)
               OR s.late_policy_status IS NOT DISTINCT FROM 'missing'
        ) AS due,
        count(*) FILTER (
            WHERE coalesce(s.missing, false)
               OR s.late_policy_status IS NOT DISTINCT FROM 'missing'
        ) AS missing
    FROM canvas.submissions AS s
    JOIN students AS st ON st.user_id = s.user_id AND st.course_id = s.course_id
    JOIN clocks AS k ON k.course_id = s.course_id
    JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
    WHERE s.course_id = ANY(:'course_ids'::bigint[])
      AND s.excused IS NOT TRUE
    GROUP BY s.course_id
),
scores AS (
    SELECT
        st.course_id,
        count(*) AS enrolled,
        round(avg(st.current_score), 2) AS mean_score,
        round((percentile_cont(0.5) WITHIN GROUP (ORDER BY st.current_score))::numeric, 2) AS median_score,
        jsonb_build_object(
            'A', count(*) FILTER (WHERE st.current_score >= 90),
            'B', count(*) FILTER (WHERE st.current_score >= 80 AND st.current_score < 90),
            'C', count(*) FILTER (WHERE st.current_score >= 70 AND st.current_score < 80),
            'D', count(*) FILTER (WHERE st.current_score >= 60 AND st.current_score < 70),
            'F', count(*) FILTER (WHERE st.current_score < 60),
            'none', count(*) FILTER (WHERE st.current_score IS NULL)
        ) AS score_distribution
    FROM students AS st
    GROUP BY st.course_id
),
figures AS (
    SELECT
        c.id AS course_id,
        coalesce(sc.enrolled, 0)::integer AS enrolled_students,
        sc.mean_score,
        sc.median_score,
        round(w.missing::numeric / NULLIF(w.due, 0), 4) AS missing_rate,
        coalesce(sc.score_distribution,
                 '{"A": 0, "B": 0, "C": 0, "D": 0, "F": 0, "none": 0}'::jsonb) AS score_distribution
    FROM courses AS c
    LEFT JOIN scores AS sc ON sc.course_id = c.id
    LEFT JOIN work AS w ON w.course_id = c.id
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
