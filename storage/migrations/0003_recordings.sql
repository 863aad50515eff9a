-- Segment index and evidence holds.
-- camera_id here is deliberately not a foreign key: footage and holds outlive
-- a deleted camera until retention (or the hold's release) removes them.

CREATE TABLE segments (
  id         INTEGER PRIMARY KEY,
  camera_id  TEXT NOT NULL,
  start_ns   INTEGER NOT NULL,
  end_ns     INTEGER NOT NULL CHECK (end_ns >= start_ns),
  bytes      INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  path       TEXT NOT NULL UNIQUE CHECK (length(path) BETWEEN 1 AND 1024),
  codec      TEXT NOT NULL DEFAULT '',
  keyframes  INTEGER NOT NULL DEFAULT 0 CHECK (keyframes >= 0),
  checksum   TEXT,
  -- open: being written; closed: complete; deleting: intent to unlink recorded.
  state      TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed', 'deleting'))
) STRICT;
CREATE INDEX segments_camera_start ON segments (camera_id, start_ns);
-- Few rows are ever 'open' or 'deleting'; a partial index finds them without a scan.
CREATE INDEX segments_unfinished ON segments (state) WHERE state != 'closed';

CREATE TABLE holds (
  id         INTEGER PRIMARY KEY,
  camera_id  TEXT NOT NULL,
  from_ns    INTEGER NOT NULL,
  to_ns      INTEGER NOT NULL CHECK (to_ns > from_ns),
  reason     TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 1024),
  created_by TEXT NOT NULL,
  created_ns INTEGER NOT NULL
) STRICT;
CREATE INDEX holds_camera_from ON holds (camera_id, from_ns);
