CREATE TABLE "events" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"action" varchar(6) NOT NULL,
	"type" varchar(64) COLLATE "C" NOT NULL,
	"mesh" varchar(253) COLLATE "C" NOT NULL,
	"name" varchar(253) COLLATE "C" NOT NULL,
	"version" bigint NOT NULL,
	"at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "events_action" CHECK ("events"."action" in ('create', 'update', 'delete'))
);
--> statement-breakpoint
CREATE TABLE "resources" (
	"type" varchar(64) COLLATE "C" NOT NULL,
	"mesh" varchar(253) COLLATE "C" NOT NULL,
	"name" varchar(253) COLLATE "C" NOT NULL,
	"version" bigint DEFAULT nextval('change_seq') NOT NULL,
	"spec" text NOT NULL,
	"creation_time" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"modification_time" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "resources_pkey" PRIMARY KEY("type","mesh","name")
);
--> statement-breakpoint
CREATE INDEX "events_at" ON "events" USING brin ("at");