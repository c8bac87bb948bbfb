-- Tenants' own verdicts on their detections, for later evaluation of the detectors.
-- No foreign key to detections: feedback may arrive while a detection is still queued; the
-- gateway checks that the detection exists and belongs to the tenant.
CREATE TABLE IF NOT EXISTS feedback (
    id bigserial PRIMARY KEY,
    detection_id text NOT NULL,
    tenant text NOT NULL,
    verdict text NOT NULL CHECK (verdict IN ('genuine', 'spoof')),
    note text CHECK (note IS NULL OR length(note) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS feedback_detection_idx ON feedback (detection_id);
CREATE INDEX IF NOT EXISTS feedback_tenant_created_idx ON feedback (tenant, created_at);
