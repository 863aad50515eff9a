-- A user's console preferences (#21; docs/operators.md "Kept per user"):
-- the live grid's layout and cameras, and whatever else the console keeps
-- per user, as one JSON object. The server checks it (server/api/accounts.cpp)
-- and bounds it; the row goes with its user.
CREATE TABLE user_preferences (
  user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  preferences TEXT NOT NULL CHECK (json_valid(preferences) AND json_type(preferences) = 'object'
                                   AND length(preferences) <= 16384),
  updated_ns INTEGER NOT NULL
);
