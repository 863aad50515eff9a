-- Sites (#21; docs/administrators.md "Sites"): the places the cameras watch
-- (an alley, an underpass, a park). A site has a name (unique, ASCII case
-- folded), an address, optionally a geographic position (both or neither)
-- and a position on the overview drawing (plan_x, plan_y in 0..1 of its
-- width and height; both or neither). Its plan image lives in the storage
-- folder (plans/site-<id>.png|jpg); the row keeps what the upload was
-- checked to be (type, pixel size, bytes, SHA-256) so that the file is never
-- served as anything else.
CREATE TABLE sites (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 128),
  address     TEXT NOT NULL DEFAULT '' CHECK (length(address) <= 512),
  latitude    REAL CHECK (latitude IS NULL OR latitude BETWEEN -90 AND 90),
  longitude   REAL CHECK (longitude IS NULL OR longitude BETWEEN -180 AND 180),
  plan_x      REAL CHECK (plan_x IS NULL OR plan_x BETWEEN 0 AND 1),
  plan_y      REAL CHECK (plan_y IS NULL OR plan_y BETWEEN 0 AND 1),
  plan_type   TEXT CHECK (plan_type IS NULL OR plan_type IN ('image/png', 'image/jpeg')),
  plan_width  INTEGER CHECK (plan_width IS NULL OR plan_width > 0),
  plan_height INTEGER CHECK (plan_height IS NULL OR plan_height > 0),
  plan_bytes  INTEGER CHECK (plan_bytes IS NULL OR plan_bytes > 0),
  plan_sha256 TEXT CHECK (plan_sha256 IS NULL OR length(plan_sha256) = 64),
  plan_updated_ns INTEGER,
  created_ns  INTEGER NOT NULL,
  updated_ns  INTEGER NOT NULL,
  CHECK ((latitude IS NULL) = (longitude IS NULL)),
  CHECK ((plan_x IS NULL) = (plan_y IS NULL)),
  CHECK ((plan_type IS NULL) = (plan_width IS NULL) AND (plan_type IS NULL) = (plan_height IS NULL)
         AND (plan_type IS NULL) = (plan_bytes IS NULL)
         AND (plan_type IS NULL) = (plan_sha256 IS NULL)
         AND (plan_type IS NULL) = (plan_updated_ns IS NULL))
) STRICT;

-- A camera's site and its position on that site's plan (0..1; both or
-- neither, and only with a site: checked by storage/catalog/cameras.cpp).
-- RESTRICT, not SET NULL: the camera registry is the one writer of camera
-- rows and tells recording and events of every change; a site deleted under
-- its cameras would rewrite their rows behind its back (its copy stale, no
-- change told, no audit entry per camera). So a site is deleted only once no
-- camera is in it (409 over the API, naming them).
ALTER TABLE cameras ADD COLUMN site_id INTEGER REFERENCES sites (id) ON DELETE RESTRICT;
ALTER TABLE cameras ADD COLUMN plan_x REAL CHECK (plan_x IS NULL OR plan_x BETWEEN 0 AND 1);
ALTER TABLE cameras ADD COLUMN plan_y REAL CHECK (plan_y IS NULL OR plan_y BETWEEN 0 AND 1);
CREATE INDEX cameras_site ON cameras (site_id) WHERE site_id IS NOT NULL;
