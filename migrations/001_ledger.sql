-- The issuance ledger: one row per certificate ever issued, one per refusal.
-- Rows are written by the audit pipeline only, idempotently, so a re-delivered event is a no-op.

CREATE TABLE certificates (
  issuer_key_id   text        NOT NULL,
  serial          text        NOT NULL,
  spiffe_id       text        NOT NULL,
  trust_domain    text        NOT NULL,
  dns_names       text[]      NOT NULL DEFAULT '{}',
  ip_addresses    text[]      NOT NULL DEFAULT '{}',
  not_before      timestamptz NOT NULL,
  not_after       timestamptz NOT NULL,
  path            text        NOT NULL CHECK (path IN ('api', 'acme', 'est')),
  requester_kind  text        NOT NULL,
  requester_id    text        NOT NULL,
  requester       jsonb       NOT NULL,
  rule            text        NOT NULL,
  policy_hash     text        NOT NULL,
  csr_sha256      text        NOT NULL,
  certificate     bytea       NOT NULL,
  event_id        uuid        NOT NULL,
  issued_at       timestamptz NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer_key_id, serial)
);

CREATE INDEX certificates_spiffe_id ON certificates (spiffe_id text_pattern_ops);
CREATE INDEX certificates_not_after ON certificates (not_after);
CREATE INDEX certificates_issued_at ON certificates (issued_at);

CREATE TABLE denials (
  event_id            uuid        PRIMARY KEY,
  path                text        NOT NULL CHECK (path IN ('api', 'acme', 'est')),
  requester_kind      text        NOT NULL,
  requester_id        text        NOT NULL,
  requester           jsonb       NOT NULL,
  rule                text        NOT NULL,
  code                text        NOT NULL,
  reason              text        NOT NULL,
  policy_hash         text        NOT NULL,
  csr_sha256          text,
  requested_spiffe_id text,
  denied_at           timestamptz NOT NULL,
  recorded_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX denials_denied_at ON denials (denied_at);
