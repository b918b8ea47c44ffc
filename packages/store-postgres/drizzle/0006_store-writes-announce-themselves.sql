-- Written by hand, as 0002. The store's own creates and updates on a PostgreSQL server stamp the row
-- (a new version, the modification time) and send its notification in their own statement
-- (store.ts); its query connections set `meshca.writer` to 'store' to say so, and the triggers skip
-- their inserts and updates: a row trigger costs a PL/pgSQL call and an after-trigger event per write.
-- Every other writer (psql, an instance on older code, the PGlite store, whose session may be shared
-- with its embedder) still goes through the triggers, so versions, times, notifications and
-- tombstones are the same whoever writes. A session that sets the variable takes that work on:
-- its writes are not stamped, checked or announced by the triggers (the conditions stay this short
-- because PostgreSQL parses and compiles a trigger's WHEN on every execution of a statement: the
-- key and version checks cost an update about a tenth of its time). Deletions always go through
-- the trigger: it writes the tombstone a replay needs. CREATE OR REPLACE TRIGGER (PostgreSQL 14+)
-- takes a lock that lets reads through, where DROP TRIGGER would queue every query of running
-- instances behind any open transaction.
CREATE OR REPLACE TRIGGER "resources_stamp_update" BEFORE UPDATE ON "resources"
FOR EACH ROW WHEN (current_setting('meshca.writer', true) IS DISTINCT FROM 'store')
EXECUTE FUNCTION "stamp_resource_update"();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER "resources_record_change" AFTER INSERT OR UPDATE ON "resources"
FOR EACH ROW WHEN (current_setting('meshca.writer', true) IS DISTINCT FROM 'store')
EXECUTE FUNCTION "record_resource_change"();
--> statement-breakpoint
CREATE TRIGGER "resources_record_delete" AFTER DELETE ON "resources"
FOR EACH ROW EXECUTE FUNCTION "record_resource_change"();
