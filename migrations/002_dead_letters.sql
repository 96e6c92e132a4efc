-- Audit events that can never be written (malformed, or refused by Postgres as data), kept with
-- the reason instead of dropped. The event is text, not jsonb: it may be exactly the JSON that
-- jsonb refused (a NUL character, a lone surrogate).
CREATE TABLE dead_letters (
  id          bigserial   PRIMARY KEY,
  source      text        NOT NULL,
  event       text        NOT NULL,
  reason      text        NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- A replayed job dead-letters the same events again; keep one row each.
CREATE UNIQUE INDEX dead_letters_once ON dead_letters (source, md5(event));
