// eventstore: writing a batch of events straight through the table and
// index access methods (heap_multi_insert, then each index), without the
// executor: the append's write path.
#pragma once

#include <cstdint>

#include "pg_boundary.hpp"

namespace casebook::eventstore {

struct EventRows {
    int count;
    int64_t first_position;
    int64_t first_version;  // version of the first row
    Datum stream;           // text
    Datum category;         // text
    const Datum* ids;       // uuid
    const Datum* types;     // text
    const Datum* schema_versions;  // int4
    const Datum* data;      // jsonb
    const Datum* personal;  // jsonb or 0 (NULL)
    const Datum* metadata;  // jsonb
    TimestampTz created_at;
};

// Inserts the rows (every index maintained, unique violations raised as
// usual). Returns false without writing anything when eventstore.events (or
// a partition the rows go to) is not exactly as the extension created it
// (tables.hpp, core/layout.hpp): the caller then uses SQL, which honours
// what the owner added.
bool write_events(const EventRows& rows);

}  // namespace casebook::eventstore
