-- 004_tenant_identity: a detection is (tenant, id). The same detection_id used by two tenants
-- is two unrelated detections, so the primary key becomes (tenant, id) and every statement
-- names both. Idempotent (re-running it changes nothing).
--
-- The row is also the one durable authority for idempotency: the gateway claims (tenant, id)
-- here before publishing a submission that carries a client-supplied detection_id, with the
-- fingerprint of the request (request_sha256), and records Kafka's acknowledgement
-- (acknowledged_at). Detectors count their result writes (attempts) and keep the first final
-- one (final_attempt = the write whose result is stored): a replay never overwrites it.

DO $$
BEGIN
    IF (SELECT array_length(conkey, 1) FROM pg_constraint
        WHERE conrelid = 'detections'::regclass AND conname = 'detections_pkey') = 1 THEN
        ALTER TABLE detections DROP CONSTRAINT detections_pkey;
        ALTER TABLE detections ADD CONSTRAINT detections_pkey PRIMARY KEY (tenant, id);
    END IF;
END
$$;

ALTER TABLE detections ADD COLUMN IF NOT EXISTS request_sha256 bytea NULL
    CHECK (request_sha256 IS NULL OR octet_length(request_sha256) = 32);
ALTER TABLE detections ADD COLUMN IF NOT EXISTS acknowledged_at timestamptz NULL;
ALTER TABLE detections ADD COLUMN IF NOT EXISTS trace_id text NULL;
ALTER TABLE detections ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0;
ALTER TABLE detections ADD COLUMN IF NOT EXISTS final_attempt integer NULL;

-- Rows written before this migration: a final row counts as one write, its own.
UPDATE detections SET attempts = 1, final_attempt = 1
 WHERE final_attempt IS NULL AND status IN ('completed', 'failed');

-- Feedback is looked up per tenant and detection.
CREATE INDEX IF NOT EXISTS feedback_tenant_detection_idx ON feedback (tenant, detection_id);
