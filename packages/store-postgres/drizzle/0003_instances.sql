CREATE TABLE "instances" (
	"id" varchar(253) COLLATE "C" PRIMARY KEY NOT NULL,
	"heartbeat_time" timestamp (3) with time zone DEFAULT now() NOT NULL
);
