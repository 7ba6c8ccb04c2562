-- Layer 1 (schema canvas): Canvas objects as the REST API gives them.
-- Every row keeps the whole object in raw (keys Canvas left out stay out: they
-- are unknown, not null) beside typed columns, and the sync that last wrote it.
-- Ids are Canvas's global 64-bit ids. NOT NULL only where Canvas always sends a value.
-- raw_hash is a digest of the document as last received: a sync that receives the
-- same bytes again knows the object is unchanged without sending it to the server.
-- A row written by other means gets a random one, which simply matches nothing.
-- depends: 0002_journal

CREATE TABLE canvas.terms (
    id                      bigint PRIMARY KEY,
    name                    text NOT NULL,
    start_at                timestamptz,
    end_at                  timestamptz,
    created_at              timestamptz,
    workflow_state          text CHECK (workflow_state IN ('active', 'deleted')),
    grading_period_group_id bigint,
    sis_term_id             text,
    raw_hash                uuid NOT NULL DEFAULT gen_random_uuid(),
    raw                     jsonb NOT NULL,
    sync_id                 bigint NOT NULL
);

CREATE TABLE canvas.courses (
    id                             bigint PRIMARY KEY,
    name                           text NOT NULL,
    original_name                  text,
    course_code                    text,
    uuid                           text,
    account_id                     bigint,
    root_account_id                bigint,
    enrollment_term_id             bigint REFERENCES canvas.terms (id),
    grading_standard_id            bigint,
    start_at                       timestamptz,
    end_at                         timestamptz,
    created_at                     timestamptz,
    time_zone                      text,
    workflow_state                 text NOT NULL
                                   CHECK (workflow_state IN ('unpublished', 'available', 'completed', 'deleted')),
    hide_final_grades              boolean,
    apply_assignment_group_weights boolean,
    sis_course_id                  text,
    raw_hash                       uuid NOT NULL DEFAULT gen_random_uuid(),
    raw                            jsonb NOT NULL,
    sync_id                        bigint NOT NULL
);
CREATE INDEX courses_term_idx ON canvas.courses (enrollment_term_id);

CREATE TABLE canvas.sections (
    id             bigint PRIMARY KEY,
    course_id      bigint NOT NULL REFERENCES canvas.courses (id),
    name           text NOT NULL,
    sis_section_id text,
    start_at       timestamptz,
    end_at         timestamptz,
    raw_hash       uuid NOT NULL DEFAULT gen_random_uuid(),
    raw            jsonb NOT NULL,
    sync_id        bigint NOT NULL
);
CREATE INDEX sections_course_idx ON canvas.sections (course_id);

CREATE TABLE canvas.users (
    id            bigint PRIMARY KEY,
    name          text NOT NULL,
    sortable_name text,
    short_name    text,
    sis_user_id   text,
    login_id      text,
    email         text,
    created_at    timestamptz,
    raw_hash      uuid NOT NULL DEFAULT gen_random_uuid(),
    raw           jsonb NOT NULL,
    sync_id       bigint NOT NULL
);
CREATE INDEX users_sis_user_id_idx ON canvas.users (sis_user_id);

CREATE TABLE canvas.assignment_groups (
    id           bigint PRIMARY KEY,
    course_id    bigint NOT NULL REFERENCES canvas.courses (id),
    name         text NOT NULL,
    position     integer,
    group_weight numeric,
    rules        jsonb,
    raw_hash     uuid NOT NULL DEFAULT gen_random_uuid(),
    raw          jsonb NOT NULL,
    sync_id      bigint NOT NULL
);
CREATE INDEX assignment_groups_course_idx ON canvas.assignment_groups (course_id);

CREATE TABLE canvas.assignments (
    id                    bigint PRIMARY KEY,
    course_id             bigint NOT NULL REFERENCES canvas.courses (id),
    assignment_group_id   bigint REFERENCES canvas.assignment_groups (id),
    name                  text NOT NULL,
    position              integer,
    points_possible       numeric,  -- null or 0 happen
    grading_type          text CHECK (grading_type IN
                              ('points', 'percent', 'letter_grade', 'gpa_scale', 'pass_fail', 'not_graded')),
    submission_types      text[],
    due_at                timestamptz,
    lock_at               timestamptz,
    unlock_at             timestamptz,
    created_at            timestamptz,
    updated_at            timestamptz,
    published             boolean,
    workflow_state        text CHECK (workflow_state IN
                              ('published', 'unpublished', 'deleted', 'duplicating', 'failed_to_duplicate',
                               'importing', 'fail_to_import', 'migrating', 'failed_to_migrate')),
    omit_from_final_grade boolean,
    sis_assignment_id     text,
    raw_hash              uuid NOT NULL DEFAULT gen_random_uuid(),
    raw                   jsonb NOT NULL,
    sync_id               bigint NOT NULL
);
CREATE INDEX assignments_course_idx ON canvas.assignments (course_id);
CREATE INDEX assignments_group_idx ON canvas.assignments (assignment_group_id);

CREATE TABLE canvas.enrollments (
    id                     bigint PRIMARY KEY,
    user_id                bigint NOT NULL REFERENCES canvas.users (id),
    course_id              bigint NOT NULL REFERENCES canvas.courses (id),
    course_section_id      bigint REFERENCES canvas.sections (id),
    type                   text NOT NULL CHECK (type IN
                               ('StudentEnrollment', 'TeacherEnrollment', 'TaEnrollment', 'DesignerEnrollment',
                                'ObserverEnrollment', 'StudentViewEnrollment')),
    role                   text,
    role_id                bigint,
    enrollment_state       text NOT NULL CHECK (enrollment_state IN
                               ('active', 'invited', 'creation_pending', 'completed', 'inactive', 'rejected',
                                'deleted')),
    associated_user_id     bigint,   -- observers: the observed student
    -- the test student is kept but flagged; analytics leave it out
    is_test_student        boolean NOT NULL DEFAULT false
                           CHECK (is_test_student = (type = 'StudentViewEnrollment')),
    current_score          numeric,
    final_score            numeric,
    current_grade          text,
    final_grade            text,
    unposted_current_score numeric,
    unposted_final_score   numeric,
    unposted_current_grade text,
    unposted_final_grade   text,
    override_score         numeric,
    override_grade         text,
    current_points         numeric,
    last_activity_at       timestamptz,
    last_attended_at       timestamptz,
    total_activity_time    bigint,  -- seconds
    start_at               timestamptz,
    end_at                 timestamptz,
    created_at             timestamptz,
    updated_at             timestamptz,
    raw_hash               uuid NOT NULL DEFAULT gen_random_uuid(),
    raw                    jsonb NOT NULL,
    sync_id                bigint NOT NULL
);
CREATE INDEX enrollments_user_idx ON canvas.enrollments (user_id);
CREATE INDEX enrollments_course_idx ON canvas.enrollments (course_id, type);
CREATE INDEX enrollments_section_idx ON canvas.enrollments (course_section_id);

CREATE TABLE canvas.submissions (
    id                 bigint PRIMARY KEY,
    course_id          bigint NOT NULL REFERENCES canvas.courses (id),  -- from the assignment
    assignment_id      bigint NOT NULL REFERENCES canvas.assignments (id),
    user_id            bigint REFERENCES canvas.users (id),  -- anonymous grading may hide it
    anonymous_id       text,
    submission_type    text,
    score              numeric,
    grade              text,
    entered_score      numeric,
    entered_grade      text,
    excused            boolean,
    attempt            integer,
    workflow_state     text NOT NULL CHECK (workflow_state IN
                           ('submitted', 'unsubmitted', 'graded', 'pending_review', 'deleted')),
    late               boolean,
    missing            boolean,
    late_policy_status text CHECK (late_policy_status IN ('late', 'missing', 'extended', 'none')),
    seconds_late       bigint,
    points_deducted    numeric,
    submitted_at       timestamptz,
    graded_at          timestamptz,
    posted_at          timestamptz,
    cached_due_date    timestamptz,
    grader_id          bigint,  -- negative: automatic grading (a quiz or a tool)
    raw_hash           uuid NOT NULL DEFAULT gen_random_uuid(),
    raw                jsonb NOT NULL,
    sync_id            bigint NOT NULL
);
CREATE INDEX submissions_assignment_idx ON canvas.submissions (assignment_id);
CREATE INDEX submissions_user_idx ON canvas.submissions (user_id, course_id);
CREATE INDEX submissions_course_idx ON canvas.submissions (course_id);

-- The sync finds unchanged input by its digest, without reading the documents again.
CREATE INDEX terms_raw_hash_idx ON canvas.terms (raw_hash);
CREATE INDEX courses_raw_hash_idx ON canvas.courses (raw_hash);
CREATE INDEX sections_raw_hash_idx ON canvas.sections (raw_hash);
CREATE INDEX users_raw_hash_idx ON canvas.users (raw_hash);
CREATE INDEX assignment_groups_raw_hash_idx ON canvas.assignment_groups (raw_hash);
CREATE INDEX assignments_raw_hash_idx ON canvas.assignments (raw_hash);
CREATE INDEX enrollments_raw_hash_idx ON canvas.enrollments (raw_hash);
CREATE INDEX submissions_raw_hash_idx ON canvas.submissions (raw_hash);
