DROP TABLE userdata.curriculum_courses;
DROP TABLE userdata.curricula;
DROP TABLE userdata.tag_links;
DROP TABLE userdata.tags;
DROP TABLE userdata.custom_fields;
DROP TABLE userdata.notes;
DROP FUNCTION userdata.record_change();
DROP TABLE userdata.audit_log;
