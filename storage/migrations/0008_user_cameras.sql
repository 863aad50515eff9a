-- Per-user camera visibility (server/visibility.h, docs/administrators.md).
--
-- cameras: NULL = the user sees every camera (the default: nothing changes
-- for existing users); otherwise a JSON array of camera ids, the only cameras
-- the user sees. Administrators always see every camera, whatever is stored.
ALTER TABLE users ADD COLUMN cameras TEXT
  CHECK (cameras IS NULL OR (json_valid(cameras) AND json_type(cameras) = 'array'
                             AND length(cameras) <= 65536));
