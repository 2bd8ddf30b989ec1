-- One database per service, created on the first start of an empty PostgreSQL volume
-- (the postgres image runs /docker-entrypoint-initdb.d/*.sql only then). Each service
-- creates its own tables at start-up (Alembic, MIGRATE_ON_START=true by default).
-- Keep in step with deploy.system.SERVICES and docker-compose.yml (tests/unit/test_compose.py checks).
CREATE DATABASE gendan_order;
CREATE DATABASE gendan_production;
CREATE DATABASE gendan_logistics;
CREATE DATABASE gendan_billing;
