DROP TABLE canvas.submissions;
DROP TABLE canvas.enrollments;
DROP TABLE canvas.assignments;
DROP TABLE canvas.assignment_groups;
DROP TABLE canvas.users;
DROP TABLE canvas.sections;
DROP TABLE canvas.courses;
DROP TABLE canvas.terms;
