-- A student's whole story in four set-based statements (tracker.analytics.student_card):
-- who they are, their active courses and what people wrote about them; then per active
-- course their standing, their work, and the score history of their recently changed
-- submissions. The first gives the course ids the others take (course_ids): a value
-- the planner sees, so that canvas.student_work and canvas.final_projection read only
-- those courses (an ARRAY(SELECT …) argument made them read every course: 0.6 s instead
-- of 25 ms at 200,000 submissions). The test student and enrollments that are not
-- active (or are marked missing in layer 0) are never in them: canvas.active_students
-- decides.

-- name: student_card_person
-- The user, the courses they are an active student of (or only course_id, if they
-- are; empty: all), and the notes, tags and custom fields people wrote about them
-- (layer 3): notes newest first, tags by name, fields by name. No row for an unknown
-- user.
SELECT
    u.id AS user_id,
    u.name,
    u.sortable_name,
    u.sis_user_id,
    ARRAY(
        SELECT DISTINCT e.course_id
        FROM canvas.active_students AS e
        WHERE e.user_id = u.id
          AND (NULLIF(:'course_id'::text, '') IS NULL
               OR e.course_id = NULLIF(:'course_id'::text, '')::bigint)
        ORDER BY e.course_id
    ) AS course_ids,
    coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', n.id, 'body', n.body, 'author', n.author,
                                            'created_at', n.created_at,
                                            'updated_at', n.updated_at)
                         ORDER BY n.created_at DESC, n.id DESC)
        FROM userdata.notes AS n
        WHERE n.subject_type = 'user'
          AND n.subject_id = u.id
    ), '[]') AS notes,
    ARRAY(
        SELECT t.name
        FROM userdata.tag_links AS l
        JOIN userdata.tags AS t ON t.id = l.tag_id
        WHERE l.subject_type = 'user'
          AND l.subject_id = u.id
        ORDER BY t.name
    ) AS tags,
    coalesce((
        SELECT jsonb_agg(jsonb_build_object('name', f.name, 'value', f.value) ORDER BY f.name)
        FROM userdata.custom_fields AS f
        WHERE f.subject_type = 'user'
          AND f.subject_id = u.id
    ), '[]') AS fields
FROM canvas.users AS u
WHERE u.id = :'user_id'::bigint;

-- name: student_card_courses
-- Each course of course_ids the student is active in: Canvas's current
-- score and grade, the momentum of canvas.student_work, the prediction of
-- canvas.final_projection, and the latest two risk assessments of layer 2 (the newest
-- and the one before it, to say how the risk moved). By course name.
WITH mine AS (
    SELECT
        e.course_id,
        (array_agg(e.current_score ORDER BY e.id))[1] AS current_score,
        (array_agg(e.current_grade ORDER BY e.id))[1] AS current_grade,
        max(e.last_activity_at) AS last_activity_at
    FROM canvas.active_students AS e
    WHERE e.user_id = :'user_id'::bigint
      AND e.course_id = ANY(:'course_ids'::bigint[])
    GROUP BY e.course_id
),
momentum AS (
    SELECT
        w.course_id,
        w.due,
        w.missing,
        w.submitted,
        w.late,
        w.points,
        w.slope_per_week,
        w.r2,
        w.trend,
        w.clock
    FROM canvas.student_work(:'course_ids'::bigint[]) AS w
    WHERE w.user_id = :'user_id'::bigint
),
projection AS (
    SELECT
        p.course_id,
        p.predicted_score,
        p.low,
        p.high,
        p.method,
        p.graded_items,
        p.remaining_items,
        p.note
    FROM canvas.final_projection(:'course_ids'::bigint[]) AS p
    WHERE p.user_id = :'user_id'::bigint
)
SELECT
    m.course_id,
    c.name AS course,
    c.course_code,
    m.current_score,
    m.current_grade,
    m.last_activity_at,
    w.due,
    w.missing,
    w.submitted,
    w.late,
    w.points,
    w.slope_per_week,
    w.r2,
    w.trend,
    w.clock,
    p.predicted_score,
    p.low,
    p.high,
    p.method,
    p.graded_items,
    p.remaining_items,
    p.note AS prediction_note,
    coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', ra.id, 'assessed_at', ra.assessed_at,
                                            'score', ra.score, 'category', ra.category,
                                            'confidence', ra.confidence,
                                            'factors', ra.factors,
                                            'model_version', ra.model_version,
                                            'sync_id', ra.sync_id)
                         ORDER BY ra.assessed_at DESC, ra.id DESC)
        FROM (
            SELECT *
            FROM history.risk_assessments AS r
            WHERE r.user_id = :'user_id'::bigint
              AND r.course_id = m.course_id
            ORDER BY r.assessed_at DESC, r.id DESC
            LIMIT 2
        ) AS ra
    ), '[]') AS risks
FROM mine AS m
JOIN canvas.courses AS c ON c.id = m.course_id
LEFT JOIN momentum AS w ON w.course_id = m.course_id
LEFT JOIN projection AS p ON p.course_id = m.course_id
ORDER BY c.name, m.course_id;

-- name: student_card_work
-- The student's work in the courses of course_ids, oldest due first: every submission
-- of an assignment that counts (canvas.graded_assignments), with its percentage when
-- graded and worth points, whether it is missing (Canvas marked it so; excused work
-- never is) or late, and the date it is plotted at (its due date, the student's own
-- else the assignment's, else when handed in or graded).
SELECT
    s.course_id,
    s.id AS submission_id,
    s.assignment_id,
    a.name AS assignment,
    coalesce(s.cached_due_date, a.due_at) AS due_at,
    coalesce(s.cached_due_date, a.due_at, s.submitted_at, s.graded_at) AS dated_at,
    s.submitted_at,
    s.workflow_state,
    s.score,
    a.points_possible,
    CASE
        WHEN s.workflow_state = 'graded' AND s.score IS NOT NULL AND s.excused IS NOT TRUE
             AND a.points_possible > 0
        THEN round(100 * s.score / a.points_possible, 2)
    END AS percent,
    s.excused IS TRUE AS excused,
    s.excused IS NOT TRUE
        AND (coalesce(s.missing, false) OR s.late_policy_status IS NOT DISTINCT FROM 'missing')
        AS missing,
    s.excused IS NOT TRUE
        AND (coalesce(s.late, false) OR s.late_policy_status IS NOT DISTINCT FROM 'late')
        AS late
FROM canvas.submissions AS s
JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
WHERE s.user_id = :'user_id'::bigint
  AND s.course_id = ANY(:'course_ids'::bigint[])
ORDER BY s.course_id, dated_at NULLS LAST, s.assignment_id, s.id;

-- name: student_card_score_history
-- Every score layer 2 recorded for the student's most recently changed submissions
-- (at most :'submissions' of them per course, by their latest recorded change) in the
-- courses of course_ids: when each version was recorded, by which sync, its score,
-- grade, state and flags. Newest submission first, each submission's versions oldest
-- first.
WITH changed AS (
    SELECT
        h.course_id,
        h.submission_id,
        max(h.recorded_at) AS last_recorded_at,
        row_number() OVER (PARTITION BY h.course_id
                           ORDER BY max(h.recorded_at) DESC, h.submission_id DESC) AS rank
    FROM history.submission_scores AS h
    WHERE h.user_id = :'user_id'::bigint
      AND h.course_id = ANY(:'course_ids'::bigint[])
    GROUP BY h.course_id, h.submission_id
)
SELECT
    h.course_id,
    h.submission_id,
    h.assignment_id,
    a.name AS assignment,
    h.recorded_at,
    h.sync_id,
    h.score,
    h.grade,
    h.workflow_state,
    h.excused,
    h.late,
    h.missing,
    h.graded_at
FROM changed AS ch
JOIN history.submission_scores AS h ON h.submission_id = ch.submission_id
LEFT JOIN canvas.assignments AS a ON a.id = h.assignment_id
WHERE ch.rank <= :'submissions'::integer
ORDER BY h.course_id, ch.last_recorded_at DESC, h.submission_id DESC, h.recorded_at, h.id;
