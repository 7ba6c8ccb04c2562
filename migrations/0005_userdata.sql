-- Layer 3 (schema userdata): what people wrote. Sync never touches it.
--
-- Notes, custom fields and tag links are about a subject: a student (user), a
-- course or an assignment, named by (subject_type, subject_id). Stored generated
-- columns turn that pair into real foreign keys to layer 1 (checked at statement end),
-- so a Canvas object cannot be removed while a person's words still refer to it:
-- approved cleanup archives them first. Every change is kept in audit_log.
-- depends: 0004_history

CREATE TABLE userdata.audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    relation   text NOT NULL,
    action     text NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
    old_row    jsonb,
    new_row    jsonb,
    changed_by text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_log_relation_idx ON userdata.audit_log (relation, changed_at);

-- Who made a change: the application says so with SET LOCAL tracker.actor = '…';
-- otherwise the database role that logged in.
-- SECURITY DEFINER: writers of userdata need no privilege on audit_log, so they
-- cannot forge or erase its entries.
CREATE FUNCTION userdata.record_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO userdata.audit_log (relation, action, old_row, new_row, changed_by)
    VALUES (
        TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
        TG_OP,
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END,
        coalesce(nullif(current_setting('tracker.actor', true), ''), session_user)
    );
    RETURN NULL;
END;
$$;

CREATE TABLE userdata.notes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_type  text NOT NULL CHECK (subject_type IN ('user', 'course', 'assignment')),
    subject_id    bigint NOT NULL,
    body          text NOT NULL CHECK (body <> ''),
    author        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    user_id       bigint GENERATED ALWAYS AS (CASE WHEN subject_type = 'user' THEN subject_id END) STORED
                  REFERENCES canvas.users (id),
    course_id     bigint GENERATED ALWAYS AS (CASE WHEN subject_type = 'course' THEN subject_id END) STORED
                  REFERENCES canvas.courses (id),
    assignment_id bigint GENERATED ALWAYS AS (CASE WHEN subject_type = 'assignment' THEN subject_id END) STORED
                  REFERENCES canvas.assignments (id)
);
CREATE INDEX notes_subject_idx ON userdata.notes (subject_type, subject_id);

CREATE TABLE userdata.custom_fields (
    subject_type  text NOT NULL CHECK (subject_type IN ('user', 'course', 'assignment')),
    subject_id    bigint NOT NULL,
    name          text NOT NULL CHECK (name <> ''),
    value         jsonb NOT NULL,
    author        text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    user_id       bigint GENERATED ALWAYS AS (CASE WHEN subject_type = 'user' THEN subject_id END) STORED
                  REFERENCES canvas.users (id),
    course_id     bigint GENERATED ALWAYS AS (CASE WHEN subject_type = 'course' THEN subject_id END) STORED
                  REFERENCES canvas.courses (id),
    assignment_id bigint GENERATED ALWAYS AS (CASE WHEN subject_type = 'assignment' THEN subject_id END) STORED
                  REFERENCES canvas.assignments (id),
    PRIMARY KEY (subject_type, subject_id, name)
);

CREATE TABLE userdata.tags (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name <> '' AND name = btrim(name)),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE userdata.tag_links (
    tag_id        bigint NOT NULL REFERENCES userdata.tags (id),
    subject_type  text NOT NULL CHECK (subject_type IN ('user', 'course', 'assignment')),
    subject_id    bigint NOT NULL,
    tagged_by     text NOT NULL,
    tagged_at     timestamptz NOT NULL DEFAULT now(),
    user_id       bigint GENERATED ALWAYS AS (CASE WHEN subject_type = 'user' THEN subject_id END) STORED
                  REFERENCES canvas.users (id),
    course_id     bigint GENERATED ALWAYS AS (CASE WHEN subject_type = 'course' THEN subject_id END) STORED
                  REFERENCES canvas.courses (id),
    assignment_id bigint GENERATED ALWAYS AS (CASE WHEN subject_type = 'assignment' THEN subject_id END) STORED
                  REFERENCES canvas.assignments (id),
    PRIMARY KEY (tag_id, subject_type, subject_id)
);
CREATE INDEX tag_links_subject_idx ON userdata.tag_links (subject_type, subject_id);

CREATE TABLE userdata.curricula (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name <> ''),  -- e.g. web_dev, data_science
    description text,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE userdata.curriculum_courses (
    curriculum_id bigint NOT NULL REFERENCES userdata.curricula (id),
    course_id     bigint NOT NULL REFERENCES canvas.courses (id),
    added_by      text NOT NULL,
    added_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (curriculum_id, course_id)
);
CREATE INDEX curriculum_courses_course_idx ON userdata.curriculum_courses (course_id);

CREATE TRIGGER notes_audit AFTER INSERT OR UPDATE OR DELETE ON userdata.notes
    FOR EACH ROW EXECUTE FUNCTION userdata.record_change();
CREATE TRIGGER custom_fields_audit AFTER INSERT OR UPDATE OR DELETE ON userdata.custom_fields
    FOR EACH ROW EXECUTE FUNCTION userdata.record_change();
CREATE TRIGGER tags_audit AFTER INSERT OR UPDATE OR DELETE ON userdata.tags
    FOR EACH ROW EXECUTE FUNCTION userdata.record_change();
CREATE TRIGGER tag_links_audit AFTER INSERT OR UPDATE OR DELETE ON userdata.tag_links
    FOR EACH ROW EXECUTE FUNCTION userdata.record_change();
CREATE TRIGGER curricula_audit AFTER INSERT OR UPDATE OR DELETE ON userdata.curricula
    FOR EACH ROW EXECUTE FUNCTION userdata.record_change();
CREATE TRIGGER curriculum_courses_audit AFTER INSERT OR UPDATE OR DELETE ON userdata.curriculum_courses
    FOR EACH ROW EXECUTE FUNCTION userdata.record_change();
