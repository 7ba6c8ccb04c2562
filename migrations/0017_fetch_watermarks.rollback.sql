DROP TABLE tracker.fetch_watermarks;
