-- Risk changes: whose risk category rose or fell between two syncs, what moved it.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id= -v since_sync_id= -f sql/reports/risk_changes.sql
-- Takes: -v course_id=ID      one course; empty (course_id=) for every course
--        -v since_sync_id=ID  compare the latest succeeded sync with this one; empty
--                             (since_sync_id=) for the succeeded sync before the latest
-- Both variables must be given (psql leaves an unset :'name' in the text); an empty
-- value means "no filter" (or, for since_sync_id, the sync before the latest).
--
-- From layer 2 (history.risk_assessments, which each sync appends for the students of
-- the courses it changed, and only when their risk moved): a student's risk in a course
-- as of a sync is their latest assessment made by that sync or an earlier one
-- (assessments a program recorded between syncs are not a sync's and do not count).
-- Listed: each active student whose category as of the latest succeeded sync differs
-- from the one as of the earlier sync, and each student first assessed since then (new
-- to the course) at medium risk or above. newly_high: now high or critical, and not so
-- before; they come first (tracker report risk_changes exits 1 when there is one),
-- then the others whose risk rose, then those whose risk fell, most at risk first.
-- factors_moved names each factor whose risk moved, with its value and risk before and
-- after ("share missing 0.1 → 0.4 (risk 0.25 → 1)"; "–" for none); reasons are the
-- latest assessment's. Left out: the test student, enrollments that are not active or
-- are marked missing in layer 0, assessments across all courses (no course).

-- name: risk_changes
-- The students whose risk category moved between two syncs, newly at high or critical risk first.
WITH syncs AS (
    SELECT
        latest.sync_id,
        coalesce(
            NULLIF(:'since_sync_id'::text, '')::bigint,
            (SELECT max(r.sync_id)
             FROM tracker.sync_runs AS r
             WHERE r.status = 'succeeded'
               AND r.sync_id < latest.sync_id)
        ) AS since_sync_id
    FROM (
        SELECT max(r.sync_id) AS sync_id
        FROM tracker.sync_runs AS r
        WHERE r.status = 'succeeded'
    ) AS latest
),
-- The students and courses assessed after the earlier sync, up to the latest: only
-- their risk can have moved.
assessed AS (
    SELECT DISTINCT
        ra.user_id,
        ra.course_id
    FROM history.risk_assessments AS ra
    CROSS JOIN syncs
    WHERE ra.sync_id > coalesce(syncs.since_sync_id, 0)
      AND ra.sync_id <= syncs.sync_id
      AND ra.course_id IS NOT NULL
      AND (NULLIF(:'course_id'::text, '') IS NULL OR ra.course_id = NULLIF(:'course_id'::text, '')::bigint)
),
compared AS (
    SELECT
        a.user_id,
        a.course_id,
        syncs.since_sync_id,
        syncs.sync_id,
        now_risk.id AS assessment_id,
        now_risk.score AS risk_score,
        now_risk.category,
        now_risk.factors,
        then_risk.score AS risk_score_before,
        then_risk.category AS category_before,
        then_risk.factors AS factors_before,
        array_position(ARRAY['low', 'medium', 'high', 'critical'], now_risk.category)
            - coalesce(array_position(ARRAY['low', 'medium', 'high', 'critical'],
                                      then_risk.category), 0) AS steps
    FROM assessed AS a
    CROSS JOIN syncs
    CROSS JOIN LATERAL (
        SELECT ra.id, ra.score, ra.category, ra.factors
        FROM history.risk_assessments AS ra
        WHERE ra.user_id = a.user_id
          AND ra.course_id = a.course_id
          AND ra.sync_id <= syncs.sync_id
        ORDER BY ra.assessed_at DESC, ra.id DESC
        LIMIT 1
    ) AS now_risk
    LEFT JOIN LATERAL (
        SELECT ra.score, ra.category, ra.factors
        FROM history.risk_assessments AS ra
        WHERE ra.user_id = a.user_id
          AND ra.course_id = a.course_id
          AND ra.sync_id <= syncs.since_sync_id
        ORDER BY ra.assessed_at DESC, ra.id DESC
        LIMIT 1
    ) AS then_risk ON true
    WHERE now_risk.category IS DISTINCT FROM then_risk.category
      AND (then_risk.category IS NOT NULL OR now_risk.category <> 'low')
)
SELECT
    x.user_id,
    u.name AS student,
    u.sis_user_id,
    x.course_id,
    c.name AS course,
    CASE
        WHEN x.category_before IS NULL THEN 'new'
        WHEN x.steps > 0 THEN 'rose'
        ELSE 'fell'
    END AS change,
    x.category IN ('high', 'critical')
        AND coalesce(x.category_before NOT IN ('high', 'critical'), true) AS newly_high,
    x.category_before,
    x.category,
    x.risk_score_before,
    x.risk_score,
    ARRAY(
        SELECT f.label || ' '
               || coalesce(trim_scale(round((x.factors_before -> f.factor ->> 'value')::numeric, 2))::text, '–')
               || ' → '
               || coalesce(trim_scale(round((x.factors -> f.factor ->> 'value')::numeric, 2))::text, '–')
               || ' (risk '
               || coalesce(trim_scale(round((x.factors_before -> f.factor ->> 'risk')::numeric, 2))::text, '–')
               || ' → '
               || coalesce(trim_scale(round((x.factors -> f.factor ->> 'risk')::numeric, 2))::text, '–')
               || ')'
        FROM (
            VALUES (1, 'score', 'current score'), (2, 'momentum', 'slope a week'),
                   (3, 'missing', 'share missing'), (4, 'late', 'share late'),
                   (5, 'inactivity', 'days inactive')
        ) AS f (n, factor, label)
        WHERE (x.factors_before -> f.factor ->> 'risk')::numeric
              IS DISTINCT FROM (x.factors -> f.factor ->> 'risk')::numeric
        ORDER BY f.n
    ) AS factors_moved,
    ARRAY(SELECT jsonb_array_elements_text(x.factors -> 'reasons')) AS reasons,
    x.since_sync_id,
    x.sync_id,
    x.assessment_id
FROM compared AS x
JOIN canvas.users AS u ON u.id = x.user_id
JOIN canvas.courses AS c ON c.id = x.course_id
WHERE EXISTS (
    SELECT 1
    FROM canvas.active_students AS e
    WHERE e.user_id = x.user_id
      AND e.course_id = x.course_id
)
ORDER BY newly_high DESC, (x.steps > 0) DESC, x.risk_score DESC, u.sortable_name, x.user_id,
         c.name, x.course_id;
