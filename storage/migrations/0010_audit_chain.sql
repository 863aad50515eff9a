-- The audit trail becomes a hash chain (docs/administrators.md, "Audit trail
-- integrity"). hash is the SHA-256 of the entry's canonical encoding
-- (storage/audit_chain.cpp: id, time, actor, action, target, detail, remote
-- and prev_hash, each length-prefixed); prev_hash is the previous entry's
-- hash, 64 zeros for the first. prev_hash repeats the previous row's hash on
-- purpose: verification can then tell an entry whose content changed (its
-- own hash no longer matches) from one whose predecessor is missing or was
-- moved (its link no longer matches), and name the right entry.
-- NULL is allowed only because ALTER TABLE cannot add NOT NULL without a
-- default; every row has both after this migration, and a NULL is reported
-- as a break.
ALTER TABLE audit ADD COLUMN prev_hash TEXT CHECK (prev_hash IS NULL OR length(prev_hash) = 64);
ALTER TABLE audit ADD COLUMN hash TEXT CHECK (hash IS NULL OR length(hash) = 64);

-- The entries written before this migration are chained here, in id order,
-- in the migration's own transaction (all or nothing): no window where some
-- rows have a hash and some do not. zaulek_audit_hash() is the C++ encoding,
-- registered on the migrating connection, so the encoding exists once.
CREATE TEMP TABLE audit_chain (id INTEGER PRIMARY KEY, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
WITH RECURSIVE chain (id, prev_hash, hash) AS (
  SELECT id, '0000000000000000000000000000000000000000000000000000000000000000',
         zaulek_audit_hash(id, time_ns, actor, action, target, detail, remote,
                           '0000000000000000000000000000000000000000000000000000000000000000')
    FROM audit WHERE id = (SELECT min(id) FROM audit)
  UNION ALL
  SELECT a.id, c.hash,
         zaulek_audit_hash(a.id, a.time_ns, a.actor, a.action, a.target, a.detail, a.remote, c.hash)
    FROM chain c JOIN audit a ON a.id = (SELECT min(id) FROM audit WHERE id > c.id)
)
INSERT INTO audit_chain SELECT id, prev_hash, hash FROM chain;

-- The append-only trigger is lifted for this one UPDATE only.
DROP TRIGGER audit_no_update;
UPDATE audit SET prev_hash = c.prev_hash, hash = c.hash FROM audit_chain c WHERE c.id = audit.id;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
DROP TABLE temp.audit_chain;
