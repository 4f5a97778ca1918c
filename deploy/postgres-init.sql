-- Runs once, when the postgres container initialises its data directory.
-- The platform's processes connect as filodiretto_app: not a superuser and not the tables' owner,
-- so row-level security applies to every query they make. Migrations run as the owner.
CREATE ROLE filodiretto_app LOGIN PASSWORD 'filodiretto_app' NOSUPERUSER NOBYPASSRLS;
GRANT CONNECT ON DATABASE filodiretto TO filodiretto_app;
GRANT USAGE ON SCHEMA public TO filodiretto_app;
ALTER DEFAULT PRIVILEGES FOR ROLE filodiretto IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO filodiretto_app;
ALTER DEFAULT PRIVILEGES FOR ROLE filodiretto IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO filodiretto_app;
