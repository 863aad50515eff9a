-- Evidence exports: a job per request, kept after it finishes (the audit trail
-- and GET /api/v1/exports/{id} read it). Footage under a queued or running
-- export is protected from retention like a hold (see the retention queries).

INSERT INTO counters (name, value) VALUES ('export', 0);

CREATE TABLE exports (
  id          TEXT PRIMARY KEY,
  camera_id   TEXT NOT NULL,
  from_ns     INTEGER NOT NULL,
  to_ns       INTEGER NOT NULL CHECK (to_ns > from_ns),
  state       TEXT NOT NULL DEFAULT 'queued'
              CHECK (state IN ('queued', 'running', 'done', 'failed')),
  path        TEXT NOT NULL DEFAULT '',  -- relative to the storage root once done
  bytes       INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  sha256      TEXT NOT NULL DEFAULT '',
  error       TEXT NOT NULL DEFAULT '',
  created_by  TEXT NOT NULL,
  created_ns  INTEGER NOT NULL,
  finished_ns INTEGER
) STRICT;
CREATE INDEX exports_active ON exports (camera_id, from_ns) WHERE state IN ('queued', 'running');
CREATE INDEX exports_created ON exports (created_ns);
