-- 001_detections: one row per detection id, the durable record of every result.
-- Idempotent (re-running it changes nothing); the migration runner applies it inside a
-- transaction and records it in schema_migrations, which it owns.
-- Writers upsert (004_tenant_identity.sql makes the key (tenant, id)), so a replayed Kafka message is harmless.
-- `result` holds the msgpack DetectionResult (schemas/msgpack/detection_result.md) exactly as
-- it was published; the other columns are its queryable projection.

CREATE TABLE IF NOT EXISTS detections (
    id             text PRIMARY KEY,               -- detection_id: 1..64 of [A-Za-z0-9._:-]
    tenant         text NOT NULL,                  -- owner; every read filters on it
    detection_type text NOT NULL
                   CHECK (detection_type IN ('audio', 'video', 'multimodal')),
    status         text NOT NULL
                   CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
    verdict        text NULL                       -- NULL until completed
                   CHECK (verdict IS NULL OR verdict IN ('genuine', 'spoof', 'inconclusive')),
    score          double precision NULL           -- probability-like spoof score
                   CHECK (score IS NULL OR (score >= 0 AND score <= 1)),
    reason         text,                           -- why it failed (status failed)
    detector       text,                           -- instance that produced the result
    model_version  text,
    result         bytea,                          -- msgpack DetectionResult
    submitted_at   timestamptz,
    started_at     timestamptz,
    completed_at   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- A tenant's detections in time order (listing, retention jobs).
CREATE INDEX IF NOT EXISTS detections_tenant_submitted_at_idx
    ON detections (tenant, submitted_at);
