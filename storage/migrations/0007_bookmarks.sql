-- Bookmarks (docs/events.md "Bookmarks", docs/recording.md): a moment (or a
-- span, until_ns) of a camera's footage marked by a person over the API or
-- by a rule with bookmark = true when it raises an alarm (alarm_id and
-- rule_id are then set; created_by is 'system'). A bookmark does not keep
-- footage from retention: that is what a hold is for.
CREATE TABLE bookmarks (
  id         INTEGER PRIMARY KEY,
  camera_id  TEXT NOT NULL CHECK (length(camera_id) BETWEEN 1 AND 64),
  time_ns    INTEGER NOT NULL,
  until_ns   INTEGER CHECK (until_ns IS NULL OR until_ns > time_ns),
  alarm_id   INTEGER,
  rule_id    TEXT CHECK (rule_id IS NULL OR length(rule_id) BETWEEN 1 AND 64),
  note       TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 4096),
  created_by TEXT NOT NULL,
  created_ns INTEGER NOT NULL
) STRICT;
CREATE INDEX bookmarks_camera_time ON bookmarks (camera_id, time_ns);
CREATE INDEX bookmarks_time ON bookmarks (time_ns);
CREATE INDEX bookmarks_alarm ON bookmarks (alarm_id) WHERE alarm_id IS NOT NULL;
