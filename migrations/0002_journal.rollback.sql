DROP FUNCTION tracker.canvas_text_array(jsonb);
DROP FUNCTION tracker.canvas_bool(jsonb);
DROP FUNCTION tracker.canvas_time(text);
DROP FUNCTION tracker.canvas_id(jsonb);
DROP TABLE tracker.sync_changes;
DROP TABLE tracker.sync_runs;
