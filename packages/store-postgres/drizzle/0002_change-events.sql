-- Written by hand (drizzle-kit does not model functions or triggers). The store applies migrations with
-- search_path set to its own schema; `SET search_path FROM CURRENT` pins the functions to that schema,
-- whatever the search_path of the session whose write fires them.

-- Versions and times belong to the database: any UPDATE, ours or one typed in psql, gives the row a
-- version never given before and a modification time later than the previous one.
CREATE FUNCTION "stamp_resource_update"() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF NEW.type IS DISTINCT FROM OLD.type OR NEW.mesh IS DISTINCT FROM OLD.mesh
     OR NEW.name IS DISTINCT FROM OLD.name THEN
    RAISE EXCEPTION 'the key of a resource cannot change: delete it and create it again'
      USING ERRCODE = 'check_violation';
  END IF;
  NEW.version := nextval('change_seq');
  NEW.creation_time := OLD.creation_time;
  NEW.modification_time := greatest(now(), OLD.modification_time + interval '1 millisecond');
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "resources_stamp_update" BEFORE UPDATE ON "resources"
FOR EACH ROW EXECUTE FUNCTION "stamp_resource_update"();
--> statement-breakpoint

-- Every committed change becomes an event row and a notification in the same transaction: a write
-- that fails or rolls back announces nothing, and a listener that was away can replay the rows.
CREATE FUNCTION "record_resource_change"() RETURNS trigger
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
  ELSE
    event_seq := NEW.version;
    event_action := CASE TG_OP WHEN 'INSERT' THEN 'create' ELSE 'update' END;
    event_type := NEW.type;
    event_mesh := NEW.mesh;
    event_name := NEW.name;
    event_version := NEW.version;
  END IF;
  INSERT INTO "events" ("seq", "action", "type", "mesh", "name", "version")
  VALUES (event_seq, event_action, event_type, event_mesh, event_name, event_version);
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
CREATE TRIGGER "resources_record_change" AFTER INSERT OR UPDATE OR DELETE ON "resources"
FOR EACH ROW EXECUTE FUNCTION "record_resource_change"();
