-- Recovering an order left `processing` by a replica that died mid-finalize
-- (http/acme/finalize-recovery.ts).

-- When finalize moved the order to processing. Once this is older than
-- acme.finalizeTimeoutSeconds no live finalize can still be running, and a poll settles the order.
-- Orders processing at upgrade time start their wait now; NULL (a replica on older code) waits forever.
ALTER TABLE acme_orders ADD COLUMN processing_since timestamptz;
UPDATE acme_orders SET processing_since = now() WHERE status = 'processing';

-- The certificate an interrupted finalize issued, found by its order: the ACME requester in the
-- audit event names the order. Partial, so it holds ACME rows only.
CREATE INDEX certificates_acme_order ON certificates ((requester->>'orderId')) WHERE path = 'acme';
