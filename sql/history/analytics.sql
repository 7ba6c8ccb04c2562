-- Statements behind tracker.analytics that are not DBA reports: the risk assessments
-- it appends to layer 2, one student's final-grade prediction, and one student's work
-- in one course, which Python turns into a pace of work.

-- name: record_risk_assessments
-- Assess the active students of the courses of course_ids (null: every course) by the
-- active model and append each assessment, with its factors, reasons and the model's
-- name, skipping those that are the same as the student's latest assessment in that
-- course (layer 2 appends only what changed). Same means the same score, category, confidence, model and
-- factors, reasons and counts included: a score already at its factor's bound can move
-- while the risk stays, and what a reader sees must move with it. All but the days
-- without activity, which grow with every hour of the course's clock for every
-- student: they count through their risk and their reason, which are compared.
-- sync_id: the sync that made them, empty when a program did. The factors document
-- holds, per factor, its value, risk (canvas.student_risk's columns), weight
-- (canvas.risk_weights) and contribution (what it added: by risk-v1, weight * risk; by
-- a fitted model, log-odds), then trend, counts, reasons.
WITH assessed AS (
    SELECT
        r.user_id,
        r.course_id,
        r.risk_score,
        r.category,
        r.confidence,
        r.model_version,
        jsonb_build_object(
            'score', jsonb_build_object('value', r.current_score, 'risk', r.score_risk,
                                        'weight', w.score,
                                        'contribution', r.contributions -> 'score'),
            'momentum', jsonb_build_object('value', r.slope_per_week, 'risk', r.momentum_risk,
                                           'weight', w.momentum,
                                           'contribution', r.contributions -> 'momentum'),
            'missing', jsonb_build_object('value', r.missing_ratio, 'risk', r.missing_risk,
                                          'weight', w.missing,
                                          'contribution', r.contributions -> 'missing'),
            'late', jsonb_build_object('value', r.late_ratio, 'risk', r.late_risk,
                                       'weight', w.late,
                                       'contribution', r.contributions -> 'late'),
            'inactivity', jsonb_build_object('value', r.days_inactive, 'risk', r.inactivity_risk,
                                             'weight', w.inactivity,
                                             'contribution', r.contributions -> 'inactivity'),
            'trend', r.trend,
            'counts', jsonb_build_object('due', r.due, 'missing', r.missing,
                                         'submitted', r.submitted, 'late', r.late),
            'reasons', to_jsonb(r.reasons)
        ) AS factors
    FROM canvas.student_risk(:'course_ids'::bigint[]) AS r
    CROSS JOIN canvas.risk_weights() AS w
)
INSERT INTO history.risk_assessments (
    user_id, course_id, sync_id, assessed_at, score, category, confidence, factors, model_version
)
SELECT
    a.user_id,
    a.course_id,
    NULLIF(:'sync_id'::text, '')::bigint,
    now(),
    a.risk_score,
    a.category,
    a.confidence,
    a.factors,
    a.model_version
FROM assessed AS a
LEFT JOIN LATERAL (
    SELECT
        ra.score,
        ra.category,
        ra.confidence,
        ra.factors,
        ra.model_version
    FROM history.risk_assessments AS ra
    WHERE ra.user_id = a.user_id
      AND ra.course_id = a.course_id
    ORDER BY ra.assessed_at DESC, ra.id DESC
    LIMIT 1
) AS latest ON true
WHERE (a.risk_score, a.category, a.confidence, a.factors #- '{inactivity,value}',
       a.model_version)
      IS DISTINCT FROM
      (latest.score, latest.category, latest.confidence, latest.factors #- '{inactivity,value}',
       latest.model_version)
RETURNING id;

-- name: risk_weights
-- The weight of each risk factor, one column each (canvas.risk_weights, sql/rules/risk.sql).
SELECT
    w.score,
    w.momentum,
    w.missing,
    w.late,
    w.inactivity
FROM canvas.risk_weights() AS w;

-- name: final_projection
-- One active student's final-grade prediction in one course, at the course's clock
-- (canvas.final_projection, sql/rules/projection.sql); no row for a student who is not
-- actively enrolled.
SELECT
    p.user_id,
    p.course_id,
    p.current_score,
    p.predicted_score,
    p.low,
    p.high,
    p.method,
    p.calibration_week,
    p.expected_on_remaining,
    p.momentum_shift,
    p.remaining_share,
    p.graded_items,
    p.remaining_items,
    p.note
FROM canvas.final_projection(ARRAY[:'course_id'::bigint]) AS p
WHERE p.user_id = :'user_id'::bigint;

-- name: student_course_work
-- One active student's work in one course, a row per submission that counts toward the
-- grade (not excused; assignment graded, not omitted, published, worth points), with
-- the course's weighting, the student's Canvas current score and the course's clock
-- (the latest activity of its active students, else now) on every row. A student
-- with no such work gets one row whose assignment_id is null; a student who is not
-- actively enrolled gets none.
WITH enrollment AS (
    SELECT
        sc.user_id,
        sc.course_id,
        sc.current_score
    FROM canvas.student_courses AS sc
    WHERE sc.user_id = :'user_id'::bigint
      AND sc.course_id = :'course_id'::bigint
),
clock AS (
    SELECT least(coalesce(max(e.last_activity_at), now()), now()) AS clock
    FROM canvas.active_students AS e
    WHERE e.course_id = :'course_id'::bigint
),
work AS (
    SELECT
        s.id AS submission_id,
        s.assignment_id,
        a.assignment_group_id,
        g.group_weight,
        a.points_possible,
        s.score,
        s.workflow_state = 'graded' AND s.score IS NOT NULL AS graded,
        coalesce(s.missing, false) OR s.late_policy_status IS NOT DISTINCT FROM 'missing' AS missing,
        coalesce(s.cached_due_date, a.due_at) AS due_at,
        s.submitted_at
    FROM canvas.submissions AS s
    JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
    LEFT JOIN canvas.assignment_groups AS g ON g.id = a.assignment_group_id
    WHERE s.user_id = :'user_id'::bigint
      AND s.course_id = :'course_id'::bigint
      AND s.excused IS NOT TRUE
      AND a.points_possible > 0
)
SELECT
    en.user_id,
    en.course_id,
    coalesce(c.apply_assignment_group_weights, false) AS weighted,
    en.current_score,
    k.clock,
    w.submission_id,
    w.assignment_id,
    w.assignment_group_id,
    w.group_weight,
    w.points_possible,
    w.score,
    w.graded,
    w.missing,
    w.due_at,
    w.submitted_at
FROM enrollment AS en
CROSS JOIN clock AS k
JOIN canvas.courses AS c ON c.id = en.course_id
LEFT JOIN work AS w ON true
ORDER BY w.due_at NULLS LAST, w.submission_id;
