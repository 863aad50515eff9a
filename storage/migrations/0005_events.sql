-- Normalized camera events (GET /api/v1/events). source and data are JSON
-- objects; topic is what the camera sent, so nothing of the original is lost.

CREATE TABLE events (
  id        INTEGER PRIMARY KEY,
  camera_id TEXT NOT NULL,
  time_ns   INTEGER NOT NULL,
  kind      TEXT NOT NULL CHECK (kind IN ('motion', 'line_crossing', 'intrusion', 'tamper',
                                          'video_loss', 'io_input', 'other')),
  state     TEXT NOT NULL CHECK (state IN ('start', 'stop', 'pulse')),
  topic     TEXT NOT NULL CHECK (length(topic) <= 1024),
  source    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(source) AND length(source) <= 8192),
  data      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data) AND length(data) <= 8192)
) STRICT;
CREATE INDEX events_camera_time ON events (camera_id, time_ns);
CREATE INDEX events_time ON events (time_ns);
