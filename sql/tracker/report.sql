-- What one sync changed, for `tracker sync report`.

-- name: grade_changes
-- Per student enrollment: the grades this sync recorded, beside the ones recorded before.
SELECT
    h.user_id,
    u.name AS student,
    h.course_id,
    c.name AS course,
    prev.current_score AS score_before,
    h.current_score AS score_after,
    h.current_score - prev.current_score AS change,
    prev.current_grade AS grade_before,
    h.current_grade AS grade_after
FROM history.enrollment_grades AS h
JOIN canvas.users AS u ON u.id = h.user_id
JOIN canvas.courses AS c ON c.id = h.course_id
LEFT JOIN LATERAL (
    SELECT p.current_score, p.current_grade
    FROM history.enrollment_grades AS p
    WHERE p.enrollment_id = h.enrollment_id
      AND p.id < h.id
    ORDER BY p.id DESC
    LIMIT 1
) AS prev ON true
WHERE h.sync_id = :'sync_id'::bigint
ORDER BY abs(h.current_score - prev.current_score) DESC NULLS LAST, u.sortable_name, c.name
LIMIT :'limit'::integer;
