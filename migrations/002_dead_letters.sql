-- Audit events that can never be written (malformed), kept with the reason instead of dropped.
CREATE TABLE dead_letters (
  id          bigserial   PRIMARY KEY,
  job_id      text        NOT NULL,
  event       jsonb       NOT NULL,
  reason      text        NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, event)
);
