-- One sequence for resource versions and change events (see src/schema.ts). Written by hand:
-- drizzle-kit would qualify it with "public", and the store applies migrations inside its own schema.
CREATE SEQUENCE "change_seq" AS bigint;
