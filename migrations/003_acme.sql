-- ACME (RFC 8555) state. Every replica reads and writes these rows and keeps nothing of its own;
-- state changes are compare-and-set on `status`, so racing replicas cannot both win.

-- External account binding keys. One key may back many accounts (a fleet of VMs shares its
-- binding); the binding name is what the policy matches.
CREATE TABLE acme_eab_keys (
  key_id     text        PRIMARY KEY,
  hmac_key   bytea       NOT NULL,
  binding    text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

CREATE TABLE acme_accounts (
  id             text        PRIMARY KEY,
  -- RFC 7638 thumbprint of the current key: one account per key.
  key_thumbprint text        NOT NULL UNIQUE,
  jwk            jsonb       NOT NULL,
  status         text        NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
  contact        jsonb       NOT NULL DEFAULT '[]',
  binding        text,
  eab_key_id     text        REFERENCES acme_eab_keys (key_id),
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE acme_authorizations (
  id          text        PRIMARY KEY,
  account_id  text        NOT NULL REFERENCES acme_accounts (id),
  -- DNS identifiers only, lower case.
  identifier  text        NOT NULL,
  status      text        NOT NULL CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated', 'revoked')),
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Finding a valid authorization to reuse for a new order.
CREATE INDEX acme_authorizations_reuse ON acme_authorizations (account_id, identifier, expires_at) WHERE status = 'valid';

CREATE TABLE acme_challenges (
  id               text        PRIMARY KEY,
  authorization_id text        NOT NULL REFERENCES acme_authorizations (id),
  type             text        NOT NULL CHECK (type IN ('http-01', 'dns-01', 'tls-alpn-01')),
  token            text        NOT NULL,
  status           text        NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
  -- When validation last started: a replica that died mid-validation leaves a stale time behind,
  -- and another replica may take the challenge over.
  started_at       timestamptz,
  validated_at     timestamptz,
  error            jsonb
);

CREATE INDEX acme_challenges_authorization ON acme_challenges (authorization_id);

-- `status` holds only what cannot be derived: pending, processing, valid or invalid. Whether a
-- pending order is ready (all authorizations valid) or invalid (one failed, or it expired) is
-- worked out when it is read, so finishing a challenge never has to find and update orders.
CREATE TABLE acme_orders (
  id                text        PRIMARY KEY,
  account_id        text        NOT NULL REFERENCES acme_accounts (id),
  status            text        NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
  identifiers       text[]      NOT NULL,
  authorization_ids text[]      NOT NULL,
  expires_at        timestamptz NOT NULL,
  error             jsonb,
  certificate_serial text,
  created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX acme_orders_account ON acme_orders (account_id, created_at);

-- Certificates issued through ACME, with the chain the client downloads. The ledger's
-- `certificates` table is the record of issuance; this is the protocol's view of it.
CREATE TABLE acme_certificates (
  serial      text        PRIMARY KEY,
  order_id    text        NOT NULL REFERENCES acme_orders (id),
  account_id  text        NOT NULL REFERENCES acme_accounts (id),
  chain_pem   text        NOT NULL,
  identifiers text[]      NOT NULL,
  not_before  timestamptz NOT NULL,
  not_after   timestamptz NOT NULL
);

-- Revocations, whatever path the certificate came by: one row per certificate, so a second
-- revocation is a conflict rather than a second record.
CREATE TABLE revocations (
  issuer_key_id text        NOT NULL,
  serial        text        NOT NULL,
  reason        smallint    NOT NULL CHECK (reason BETWEEN 0 AND 10 AND reason <> 7),
  revoked_at    timestamptz NOT NULL DEFAULT now(),
  -- Who asked: the ACME account, or the certificate's own key.
  revoked_by    jsonb       NOT NULL,
  PRIMARY KEY (issuer_key_id, serial)
);
