-- How the camera's RTSP streams are pulled (docs/administrators.md "How a
-- camera is pulled"; #19):
--   rtsp_transport: 'tcp' (interleaved in the RTSP connection; the native
--     ingest or rtspsrc as [recording] ingest says) or 'udp' (RTP over UDP,
--     always through rtspsrc);
--   sub_pull: 'watched' (the sub stream is pulled while someone watches it,
--     and [recording] sub_linger_s after) or 'always' (pulled all the time,
--     for live view only: the sub stream is not recorded).
-- Existing cameras keep what they had: TCP, sub pulled while watched.
ALTER TABLE cameras ADD COLUMN rtsp_transport TEXT NOT NULL DEFAULT 'tcp'
  CHECK (rtsp_transport IN ('tcp', 'udp'));
ALTER TABLE cameras ADD COLUMN sub_pull TEXT NOT NULL DEFAULT 'watched'
  CHECK (sub_pull IN ('watched', 'always'));
