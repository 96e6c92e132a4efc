-- Where a refusal came from, and how many identical ones a row stands for: failed authentication
-- is recorded on every path now, and repeats from one source within a short window are counted in
-- one row instead of one row per request (see the Issuer's refusal path).
ALTER TABLE denials ADD COLUMN client_address text;
ALTER TABLE denials ADD COLUMN repeat_count integer NOT NULL DEFAULT 1 CHECK (repeat_count >= 1);
CREATE INDEX denials_client_address ON denials (client_address, denied_at) WHERE client_address IS NOT NULL;
