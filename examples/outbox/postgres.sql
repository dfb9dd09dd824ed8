-- The orders service's tables (PostgreSQL). The outbox table has the columns Debezium's
-- outbox event router reads by default: id, aggregatetype, aggregateid, type, payload.
CREATE TABLE orders (
  id       bigint PRIMARY KEY,
  customer text   NOT NULL,
  status   text   NOT NULL
);
CREATE TABLE outbox (
  id            uuid         PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid   varchar(255) NOT NULL,
  type          varchar(255) NOT NULL,
  payload       jsonb
);
