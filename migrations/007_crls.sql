-- The current CRL of each issuing CA. One replica at a time signs a new one (under an advisory
-- lock) and replaces the row; every replica serves the row's DER from memory. crl_number only
-- grows, so it is kept here rather than in any process, and survives restarts.
CREATE TABLE crls (
  issuer_key_id    text        PRIMARY KEY,
  crl_number       bigint      NOT NULL CHECK (crl_number > 0),
  this_update      timestamptz NOT NULL,
  next_update      timestamptz NOT NULL CHECK (next_update > this_update),
  -- How many revocation rows of this issuer the CRL was built from: a different count means a
  -- revocation it does not list yet (rows are never deleted).
  revocations_seen integer     NOT NULL,
  der              bytea       NOT NULL
);
