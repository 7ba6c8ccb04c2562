-- Rules: which assignments count toward a grade.
--
-- canvas.graded_assignments: graded (not 'not_graded'), not omitted from the final
-- grade, published, not deleted, not marked missing in layer 0. The reports and
-- analytics read it instead of spelling the conditions out each time; the planner
-- reads through it to the assignments beneath.
--
-- Applied by migration 0011_rules with the other files of sql/rules (tracker/rules.py).

-- name: graded_assignments
-- The assignments that count toward a grade.
CREATE OR REPLACE VIEW canvas.graded_assignments AS
SELECT
    a.id,
    a.course_id,
    a.assignment_group_id,
    a.name,
    a.due_at,
    a.points_possible,
    a.grading_type,
    a.sync_id
FROM canvas.assignments AS a
WHERE a.grading_type IS DISTINCT FROM 'not_graded'
  AND a.omit_from_final_grade IS NOT TRUE
  AND a.published IS NOT FALSE
  AND a.workflow_state IS DISTINCT FROM 'deleted'
  AND NOT EXISTS (
      SELECT 1
      FROM lifecycle.objects AS o
      WHERE o.kind = 'assignment'
        AND o.id = a.id
        AND o.status <> 'active'
  );

-- name: describe_graded_assignments
-- Its comment.
COMMENT ON VIEW canvas.graded_assignments IS
    'Assignments that count toward a grade: graded, not omitted, published, not deleted, not marked missing in layer 0.';
