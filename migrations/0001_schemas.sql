-- The four layers, each a schema of its own, and the sync journal's schema.
CREATE SCHEMA canvas;
CREATE SCHEMA history;
CREATE SCHEMA userdata;
CREATE SCHEMA lifecycle;
CREATE SCHEMA tracker;
