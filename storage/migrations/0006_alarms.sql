-- Alarms and rules (server/alarms.h, docs/events.md).
--
-- events gains the kind 'health': zaulekd's own events about a camera (its
-- status, or its event subscription failing). SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with the same columns.

CREATE TABLE events_new (
  id        INTEGER PRIMARY KEY,
  camera_id TEXT NOT NULL,
  time_ns   INTEGER NOT NULL,
  kind      TEXT NOT NULL CHECK (kind IN ('motion', 'line_crossing', 'intrusion', 'tamper',
                                          'video_loss', 'io_input', 'health', 'other')),
  state     TEXT NOT NULL CHECK (state IN ('start', 'stop', 'pulse')),
  topic     TEXT NOT NULL CHECK (length(topic) <= 1024),
  source    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(source) AND length(source) <= 8192),
  data      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data) AND length(data) <= 8192)
) STRICT;
INSERT INTO events_new (id, camera_id, time_ns, kind, state, topic, source, data)
  SELECT id, camera_id, time_ns, kind, state, topic, source, data FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_camera_time ON events (camera_id, time_ns);
CREATE INDEX events_time ON events (time_ns);

-- One row per alarm. Repeats from the same source (source_key: camera, kind,
-- rule and the event's source items) fold into the open alarm: count and
-- last_* grow. At most one open (new or acknowledged) alarm per source.
CREATE TABLE alarms (
  id              INTEGER PRIMARY KEY,
  camera_id       TEXT NOT NULL,
  kind            TEXT NOT NULL,
  source_key      TEXT NOT NULL CHECK (length(source_key) <= 4096),
  rule_id         TEXT NOT NULL,
  priority        INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5),
  state           TEXT NOT NULL DEFAULT 'new'
                  CHECK (state IN ('new', 'acknowledged', 'resolved')),
  count           INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
  first_event_id  INTEGER NOT NULL,
  last_event_id   INTEGER NOT NULL,
  first_ns        INTEGER NOT NULL,
  last_ns         INTEGER NOT NULL,
  created_ns      INTEGER NOT NULL,
  acknowledged_by TEXT,
  acknowledged_ns INTEGER,
  assigned_to     TEXT,
  assigned_ns     INTEGER,
  resolved_by     TEXT,
  resolved_ns     INTEGER,
  note            TEXT CHECK (note IS NULL OR length(note) <= 4096)
) STRICT;
CREATE UNIQUE INDEX alarms_open_source ON alarms (source_key) WHERE state <> 'resolved';
CREATE INDEX alarms_state ON alarms (state, id);

-- Rules made over the API (rules from the config file are not stored).
-- spec is the rule as JSON (server/alarms.h reads it).
CREATE TABLE rules (
  id         TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
  spec       TEXT NOT NULL CHECK (json_valid(spec) AND length(spec) <= 16384),
  created_by TEXT NOT NULL,
  created_ns INTEGER NOT NULL
) STRICT;
