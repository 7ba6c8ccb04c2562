DROP SCHEMA tracker;
DROP SCHEMA lifecycle;
DROP SCHEMA userdata;
DROP SCHEMA history;
DROP SCHEMA canvas;
