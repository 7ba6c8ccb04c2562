-- The students of curricula in order of name (tracker.queries.curricula), measured with
-- 40 courses of 1,000 students (issue 13): when thousands of students match, sorting
-- them all to return a page of 50 cost 36 ms. With the users in order of their sort key
-- (sortable name, else name; then id, which breaks ties) the planner may walk this index
-- and stop once a page of matching students is found (about 1 ms); when few students
-- match it still gathers and sorts them instead.
-- depends: 0011_rules

CREATE INDEX users_sort_idx ON canvas.users ((coalesce(sortable_name, name)), id);
