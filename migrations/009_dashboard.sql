-- What the dashboard (/ui/) asks of a ledger with millions of rows, answered from indexes.

-- Live certificates (not_after > now()) grouped by trust domain, path or SPIFFE ID subtree, and
-- the "expiring within" lists: an index-only scan over the live range, never the table.
CREATE INDEX certificates_live ON certificates (not_after, serial) INCLUDE (trust_domain, path, spiffe_id);

-- Issuances per minute and hits per rule over a window: an index-only scan over the window.
CREATE INDEX certificates_issued_rule ON certificates (issued_at) INCLUDE (rule);

-- Search by serial alone (the primary key leads with the issuer's key id).
CREATE INDEX certificates_serial ON certificates (serial);

-- Search by DNS name.
CREATE INDEX certificates_dns_names ON certificates USING gin (dns_names);

-- Refusals per minute, by rule and code, over a window.
CREATE INDEX denials_window ON denials (denied_at) INCLUDE (rule, code, repeat_count);

-- Drill-down from a (rule, code) group to its events, newest first.
CREATE INDEX denials_rule_code ON denials (rule, code, denied_at DESC, event_id DESC);
