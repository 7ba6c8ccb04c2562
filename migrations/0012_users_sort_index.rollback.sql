DROP INDEX canvas.users_sort_idx;
