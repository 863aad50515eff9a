-- Cameras and their streams.

-- Monotonic counters for human-readable ids ("cam-7"): never reused, even
-- after a delete, because footage and holds keep naming the old id.
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('camera', 0);

CREATE TABLE cameras (
  id             TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
  name           TEXT NOT NULL CHECK (length(name) <= 128),
  onvif_url      TEXT NOT NULL CHECK (length(onvif_url) BETWEEN 1 AND 2048),
  username       TEXT NOT NULL DEFAULT '',
  -- Sealed by the server before it gets here; storage never sees the plaintext.
  password_enc   BLOB NOT NULL CHECK (length(password_enc) <= 4096),
  manufacturer   TEXT NOT NULL DEFAULT '',
  model          TEXT NOT NULL DEFAULT '',
  serial         TEXT NOT NULL DEFAULT '',
  hardware_id    TEXT NOT NULL DEFAULT '',
  endpoint_ref   TEXT NOT NULL DEFAULT '',
  recording_mode TEXT NOT NULL DEFAULT 'continuous'
                 CHECK (recording_mode IN ('continuous', 'events', 'off')),
  retention_days INTEGER NOT NULL DEFAULT 90 CHECK (retention_days BETWEEN 1 AND 3650),
  created_ns     INTEGER NOT NULL,
  updated_ns     INTEGER NOT NULL
) STRICT;

CREATE TABLE streams (
  camera_id     TEXT NOT NULL REFERENCES cameras (id) ON DELETE CASCADE,
  kind          TEXT NOT NULL CHECK (kind IN ('main', 'sub')),
  profile_token TEXT NOT NULL DEFAULT '',
  rtsp_uri      TEXT NOT NULL DEFAULT '',
  codec         TEXT NOT NULL DEFAULT '',
  width         INTEGER NOT NULL DEFAULT 0 CHECK (width >= 0),
  height        INTEGER NOT NULL DEFAULT 0 CHECK (height >= 0),
  PRIMARY KEY (camera_id, kind)
) STRICT, WITHOUT ROWID;
