-- The orders service's tables (MySQL / MariaDB); see postgres.sql.
CREATE TABLE orders (
  id       bigint       PRIMARY KEY,
  customer varchar(255) NOT NULL,
  status   varchar(32)  NOT NULL
);
CREATE TABLE outbox (
  id            char(36)     PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid   varchar(255) NOT NULL,
  type          varchar(255) NOT NULL,
  payload       json
);
