DROP FUNCTION reports.min_group();
