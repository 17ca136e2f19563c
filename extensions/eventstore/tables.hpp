// eventstore: the layout of eventstore.events as the extension creates it,
// unpartitioned or range-partitioned (the parent and each partition). The
// direct write and read paths run only while the table matches
// (core/layout.hpp); the core_layout regression test prints the
// descriptions of a fresh install.
#pragma once

namespace casebook::eventstore {

// The columns of eventstore.events, in every layout. The lines stand in the
// order describe() prints them (the core_layout test compares the texts).
#define CASEBOOK_EVENTS_COLUMNS \
    "column \"position\" bigint NOT NULL DEFAULT eventstore._next_position()\n" \
    "column stream_id text COLLATE \"C\" NOT NULL\n" \
    "column version bigint NOT NULL\n" \
    "column event_id uuid NOT NULL\n" \
    "column event_type text COLLATE \"C\" NOT NULL\n" \
    "column schema_version integer NOT NULL DEFAULT 1\n" \
    "column event_data jsonb NOT NULL\n" \
    "column personal jsonb\n" \
    "column metadata jsonb NOT NULL DEFAULT '{}'::jsonb\n" \
    "column created_at timestamp with time zone NOT NULL DEFAULT now()\n" \
    "column category text COLLATE \"C\" NOT NULL\n"

// What the partitioned table and each of its partitions share: keys, then
// triggers (the parent has one more, which sorts between them).
#define CASEBOOK_EVENTS_PARTITIONED_SHARED \
    "constraint events_pkey PRIMARY KEY (\"position\")\n" \
    "constraint events_version_check CHECK ((version > 0))\n" \
    "index events_category_position_idx USING btree (category, \"position\")\n" \
    "index events_event_id_key USING btree (event_id)\n" \
    "index events_pkey UNIQUE USING btree (\"position\")\n" \
    "index events_stream_version_key USING btree (stream_id, version)\n"
#define CASEBOOK_EVENTS_PARTITIONED_TRIGGERS \
    "trigger enabled=A CREATE TRIGGER events_append_only_rows BEFORE DELETE OR UPDATE FOR EACH ROW EXECUTE FUNCTION eventstore._append_only()\n" \
    "trigger enabled=A CREATE TRIGGER events_no_truncate BEFORE TRUNCATE FOR EACH STATEMENT EXECUTE FUNCTION eventstore._append_only()\n"

// eventstore.events as the extension creates it (the lines of core/layout.hpp describe()).
inline constexpr const char kEventsLayout[] =
    "table\n"
    CASEBOOK_EVENTS_COLUMNS
    "constraint events_event_id_key UNIQUE (event_id)\n"
    "constraint events_pkey PRIMARY KEY (\"position\")\n"
    "constraint events_stream_version_key UNIQUE (stream_id, version)\n"
    "constraint events_version_check CHECK ((version > 0))\n"
    "index events_category_position_idx USING btree (category, \"position\")\n"
    "index events_event_id_key UNIQUE USING btree (event_id)\n"
    "index events_pkey UNIQUE USING btree (\"position\")\n"
    "index events_stream_version_key UNIQUE USING btree (stream_id, version)\n"
    "trigger enabled=A CREATE TRIGGER events_append_only BEFORE DELETE OR UPDATE FOR EACH STATEMENT EXECUTE FUNCTION eventstore._append_only()\n"
    "trigger enabled=A CREATE TRIGGER events_no_truncate BEFORE TRUNCATE FOR EACH STATEMENT EXECUTE FUNCTION eventstore._append_only()\n"
    ;

// eventstore.events, partitioned, as the extension creates it.
inline constexpr const char kPartitionedEventsLayout[] =
    "partitioned table RANGE (\"position\")\n"
    CASEBOOK_EVENTS_COLUMNS
    CASEBOOK_EVENTS_PARTITIONED_SHARED
    "trigger enabled=A CREATE TRIGGER events_append_only BEFORE DELETE OR UPDATE FOR EACH STATEMENT EXECUTE FUNCTION eventstore._append_only()\n"
    CASEBOOK_EVENTS_PARTITIONED_TRIGGERS
    ;

// Each partition of eventstore.events as the extension creates it.
inline constexpr const char kEventsPartitionLayout[] =
    "table\n"
    "partition of eventstore.events\n"
    CASEBOOK_EVENTS_COLUMNS
    CASEBOOK_EVENTS_PARTITIONED_SHARED
    CASEBOOK_EVENTS_PARTITIONED_TRIGGERS
    ;

#undef CASEBOOK_EVENTS_COLUMNS
#undef CASEBOOK_EVENTS_PARTITIONED_SHARED
#undef CASEBOOK_EVENTS_PARTITIONED_TRIGGERS

}  // namespace casebook::eventstore
