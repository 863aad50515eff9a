-- Whether the recorder may answer a camera's RTSP Basic challenge (the
-- password in clear on the network). Off for every camera, existing ones
-- too: an administrator allows it per camera (PATCH, audited); otherwise a
-- Basic challenge fails the camera with a clear reason (docs/recording.md).
ALTER TABLE cameras ADD COLUMN allow_basic_auth INTEGER NOT NULL DEFAULT 0
  CHECK (allow_basic_auth IN (0, 1));
