-- The timeline's merged ranges, kept as segments come and go (#20): a camera's
-- 90 days are ~130,000 segments but ~100 ranges, and folding the segments at
-- every timeline query cost 60 ms. A range is a maximal run of segments (not
-- being deleted) whose closed intervals touch or overlap; `segments` counts
-- them. storage/catalog/segments.cpp maintains it in the same transaction as
-- every write to segments, and rebuilds a range with the query below.

CREATE TABLE segment_ranges (
  camera_id TEXT NOT NULL,
  start_ns  INTEGER NOT NULL,
  end_ns    INTEGER NOT NULL CHECK (end_ns >= start_ns),
  segments  INTEGER NOT NULL CHECK (segments > 0),
  PRIMARY KEY (camera_id, start_ns)
) STRICT, WITHOUT ROWID;

INSERT INTO segment_ranges (camera_id, start_ns, end_ns, segments)
SELECT camera_id, min(start_ns), max(end_ns), count(*) FROM (
  SELECT camera_id, start_ns, end_ns,
         sum(brk) OVER (PARTITION BY camera_id ORDER BY start_ns, id) AS grp FROM (
    SELECT camera_id, start_ns, end_ns, id,
           coalesce(start_ns > max(end_ns) OVER (PARTITION BY camera_id ORDER BY start_ns, id
                                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                    1) AS brk
    FROM segments WHERE state != 'deleting'))
GROUP BY camera_id, grp;
