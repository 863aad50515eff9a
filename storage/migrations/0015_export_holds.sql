-- An export's evidence hold by id (#20). The export service found its hold by
-- the reason's prefix "export exp-<n>:", which a hold added by hand with the
-- same words would also match. The hold's id is kept on the export row now;
-- deleting the hold (DELETE /api/v1/holds/{id}) leaves the export without one.
ALTER TABLE exports ADD COLUMN hold_id INTEGER REFERENCES holds (id) ON DELETE SET NULL;

-- Exports from before: the oldest hold of the same camera and range whose
-- reason starts with the export's marker (the one the export placed).
UPDATE exports SET hold_id = (
  SELECT h.id FROM holds h
  WHERE h.camera_id = exports.camera_id AND h.from_ns = exports.from_ns
    AND h.to_ns = exports.to_ns
    AND substr(h.reason, 1, length('export ' || exports.id || ':')) = 'export ' || exports.id || ':'
  ORDER BY h.id LIMIT 1);

CREATE INDEX exports_hold ON exports (hold_id) WHERE hold_id IS NOT NULL;
