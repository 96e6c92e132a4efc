-- Each revocation decision is an audit event: who revoked (an operator, an ACME account, the
-- certificate's own key), when, why, by which selector, and how many certificates. The store
-- writes an event and its `revocations` rows in one statement, so neither exists without the other.
CREATE TABLE revocation_events (
  event_id          uuid        PRIMARY KEY,
  -- Milliseconds, as the events API's keyset cursor carries them.
  at                timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  reason            smallint    NOT NULL CHECK (reason BETWEEN 0 AND 10 AND reason <> 7),
  revoked_by        jsonb       NOT NULL,
  -- One of: serial, spiffeId, spiffeIdPrefix, requester {kind, id}, eabBinding, eabKeyId.
  selector          jsonb       NOT NULL,
  certificate_count integer     NOT NULL CHECK (certificate_count >= 1)
);

-- The events API pages newest first.
CREATE INDEX revocation_events_at ON revocation_events (at, event_id);

-- NULL only for a row written by a replica still on older code during a rolling upgrade.
ALTER TABLE revocations ADD COLUMN event_id uuid;

-- Revocations made before events existed become one event each, marked as reconstructed: their
-- selector was not recorded, only the certificate.
UPDATE revocations SET event_id = gen_random_uuid();
INSERT INTO revocation_events (event_id, at, reason, revoked_by, selector, certificate_count)
  SELECT event_id, date_trunc('milliseconds', revoked_at), reason, revoked_by, jsonb_build_object('serial', serial, 'reconstructed', true), 1 FROM revocations;

ALTER TABLE revocations ADD FOREIGN KEY (event_id) REFERENCES revocation_events (event_id);
CREATE INDEX revocations_event ON revocations (event_id);

-- Revoking by requester: everything one EST gateway (requester_id `name@label`), token subject or
-- workload obtained.
CREATE INDEX certificates_requester ON certificates (requester_kind, requester_id, issued_at);

-- Revoking what the accounts of one ACME binding or EAB key obtained: the accounts by binding or
-- key, then their certificates by account (partial, so it holds ACME rows only).
CREATE INDEX certificates_acme_account ON certificates ((requester->>'accountId'), issued_at) WHERE path = 'acme';
CREATE INDEX acme_accounts_binding ON acme_accounts (binding);
CREATE INDEX acme_accounts_eab_key ON acme_accounts (eab_key_id);
