-- Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d):
-- each service has its own database, as each is its own eventsourcing application.
CREATE DATABASE touchstone_records;
CREATE DATABASE touchstone_consent;
