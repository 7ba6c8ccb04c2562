DROP FUNCTION tracker.refresh_statistics(regclass, bigint);
