-- Written by hand, as 0002. The change log's rows exist for listeners that lose their connection and
-- replay what they missed. A session that sets `meshca.change_log` to 'notify' writes the notification
-- only: the PGlite store does, because its listeners live in the writing process and can miss nothing.
-- The PostgreSQL store pins it to 'log' on its connections (a role or database default cannot turn the
-- log off) and refuses it in its URL, so every write there is logged as before. Replacing the function
-- takes its owner: the role that applied migration 0002.
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
  ELSE
    event_seq := NEW.version;
    event_action := CASE TG_OP WHEN 'INSERT' THEN 'create' ELSE 'update' END;
    event_type := NEW.type;
    event_mesh := NEW.mesh;
    event_name := NEW.name;
    event_version := NEW.version;
  END IF;
  IF current_setting('meshca.change_log', true) IS DISTINCT FROM 'notify' THEN
    INSERT INTO "events" ("seq", "action", "type", "mesh", "name", "version")
    VALUES (event_seq, event_action, event_type, event_mesh, event_name, event_version);
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
