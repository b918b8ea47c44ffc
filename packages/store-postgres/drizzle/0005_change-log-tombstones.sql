-- Written by hand, as 0002. A listener that lost its connection replays the gap from the resources
-- themselves: every create and update leaves its change sequence in the row's `version`, so only a
-- deletion, which leaves no row, needs an `events` row (a tombstone). Creates and updates now write
-- the notification only, which takes a row insert off every write. The replay folds several updates
-- of one resource in the gap into its latest state, as a re-list would. As in 0004, a session with
-- `meshca.change_log` set to 'notify' (the PGlite store) writes no tombstone either. Replacing the
-- function takes its owner: the role that applied migration 0002.
CREATE OR REPLACE FUNCTION "record_resource_change"() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  event_seq bigint;
  event_action text;
  event_type text;
  event_mesh text;
  event_name text;
  event_version bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN
    event_seq := nextval('change_seq');
    event_action := 'delete';
    event_type := OLD.type;
    event_mesh := OLD.mesh;
    event_name := OLD.name;
    event_version := OLD.version;
    IF current_setting('meshca.change_log', true) IS DISTINCT FROM 'notify' THEN
      INSERT INTO "events" ("seq", "action", "type", "mesh", "name", "version")
      VALUES (event_seq, event_action, event_type, event_mesh, event_name, event_version);
    END IF;
  ELSE
    event_seq := NEW.version;
    event_action := CASE TG_OP WHEN 'INSERT' THEN 'create' ELSE 'update' END;
    event_type := NEW.type;
    event_mesh := NEW.mesh;
    event_name := NEW.name;
    event_version := NEW.version;
  END IF;
  PERFORM pg_notify(
    TG_TABLE_SCHEMA || '.changes',
    json_build_object(
      'seq', event_seq::text,
      'action', event_action,
      'type', event_type,
      'mesh', event_mesh,
      'name', event_name,
      'version', event_version::text
    )::text
  );
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- Rows of creates and updates logged before this migration: the resources carry them now.
DELETE FROM "events" WHERE "action" <> 'delete';
