DROP TABLE lifecycle.objects;
