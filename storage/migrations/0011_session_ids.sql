-- Sessions get an id of their own, so that a user (or an administrator) can
-- list and revoke them without ever seeing a token or its hash, and the
-- address they logged in from. AUTOINCREMENT: a revoked session's id is never
-- given to a later one. Existing sessions stay valid (remote unknown: '').
CREATE TABLE sessions_v11 (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  token_hash TEXT NOT NULL UNIQUE,
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_ns INTEGER NOT NULL,
  expires_ns INTEGER NOT NULL,
  remote     TEXT NOT NULL DEFAULT '' CHECK (length(remote) <= 64)
) STRICT;
INSERT INTO sessions_v11 (token_hash, user_id, csrf_token, created_ns, expires_ns)
  SELECT token_hash, user_id, csrf_token, created_ns, expires_ns FROM sessions ORDER BY created_ns;
DROP TABLE sessions;
ALTER TABLE sessions_v11 RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_ns);
