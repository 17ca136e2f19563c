// casebook core: every SQLSTATE the project raises, in one place.
//
// Domain errors use the project's own class "KB" (class codes starting with
// I-Z are implementation-defined in the SQL standard, so KB cannot collide
// with a standard class). Subclasses: 0xx core, 1xx commerce, 2xx eventstore,
// 3xx feed, 4xx tenancy, 5xx analytics, 6xx georoute.
// Generic bad input keeps the standard codes (22004, 22023, ...), listed here
// too so docs/errors.md is complete. docs/errors.md must list every entry of
// kErrorCodes; a unit test checks that.
#pragma once

#include <span>
#include <string_view>

#include "error.hpp"

namespace casebook::errcodes {

struct ErrorCode {
    std::string_view code;
    std::string_view condition;
    std::string_view when;
};

// Standard codes we raise for bad arguments.
inline constexpr SqlState null_value_not_allowed{"22004"};
inline constexpr SqlState invalid_parameter_value{"22023"};
inline constexpr SqlState numeric_value_out_of_range{"22003"};
inline constexpr SqlState query_canceled{"57014"};
inline constexpr SqlState out_of_memory{"53200"};
inline constexpr SqlState internal_error{"XX000"};
inline constexpr SqlState insufficient_privilege{"42501"};
inline constexpr SqlState serialization_failure{"40001"};
inline constexpr SqlState statement_too_complex{"54001"};
inline constexpr SqlState invalid_transaction_state{"25000"};

// Core (KB0xx).
inline constexpr SqlState casebook_error{"KB000"};
inline constexpr SqlState extension_not_ready{"KB001"};

// commerce (KB1xx).
inline constexpr SqlState insufficient_stock{"KB101"};
inline constexpr SqlState unknown_variant{"KB102"};
inline constexpr SqlState unknown_reservation{"KB103"};
inline constexpr SqlState reservation_not_held{"KB104"};
inline constexpr SqlState reservation_expired{"KB105"};
inline constexpr SqlState idempotency_key_reused{"KB106"};
inline constexpr SqlState unknown_cart{"KB107"};
inline constexpr SqlState cart_not_open{"KB108"};
inline constexpr SqlState unknown_order{"KB109"};
inline constexpr SqlState invalid_status_transition{"KB110"};
inline constexpr SqlState unknown_order_status{"KB111"};
inline constexpr SqlState unknown_product{"KB112"};
inline constexpr SqlState unknown_category{"KB113"};
inline constexpr SqlState unknown_customer{"KB114"};

// eventstore (KB2xx).
inline constexpr SqlState wrong_expected_version{"KB201"};
inline constexpr SqlState invalid_event{"KB202"};
inline constexpr SqlState event_id_conflict{"KB203"};
inline constexpr SqlState stream_category_mismatch{"KB204"};
inline constexpr SqlState unknown_subscription{"KB205"};
inline constexpr SqlState subscription_conflict{"KB206"};
inline constexpr SqlState events_append_only{"KB207"};
inline constexpr SqlState append_in_prepared_transaction{"KB208"};
inline constexpr SqlState invalid_member{"KB209"};
inline constexpr SqlState invalid_projection_spec{"KB210"};
inline constexpr SqlState projection_failed{"KB211"};
inline constexpr SqlState unknown_projection{"KB212"};
inline constexpr SqlState projection_exists{"KB213"};
inline constexpr SqlState personal_subject_missing{"KB214"};
inline constexpr SqlState partition_missing{"KB215"};
inline constexpr SqlState partitioning_not_configured{"KB216"};
inline constexpr SqlState partition_layout_unsupported{"KB217"};
inline constexpr SqlState events_layout_unreadable{"KB218"};

// feed (KB3xx).
inline constexpr SqlState unknown_user{"KB301"};
inline constexpr SqlState self_follow{"KB302"};
inline constexpr SqlState already_following{"KB303"};
inline constexpr SqlState not_following{"KB304"};
inline constexpr SqlState unknown_post{"KB305"};
inline constexpr SqlState invalid_cursor{"KB306"};
inline constexpr SqlState stale_cursor{"KB307"};
inline constexpr SqlState username_taken{"KB308"};

// tenancy (KB4xx).
inline constexpr SqlState no_tenant_context{"KB401"};
inline constexpr SqlState tenant_context_locked{"KB402"};
inline constexpr SqlState invalid_token{"KB403"};
inline constexpr SqlState token_expired{"KB404"};
inline constexpr SqlState no_token_key{"KB405"};
inline constexpr SqlState not_protectable{"KB406"};
inline constexpr SqlState protection_weakened{"KB407"};
inline constexpr SqlState unprotected_tenant_table{"KB408"};
inline constexpr SqlState session_scope_disabled{"KB409"};
inline constexpr SqlState held_cursor_in_context{"KB410"};
inline constexpr SqlState tenant_limit_raised{"KB411"};
inline constexpr SqlState foreign_key_cycle{"KB412"};
inline constexpr SqlState replica_identity_lacks_tenant{"KB413"};
inline constexpr SqlState fk_validation_under_guard{"KB414"};

// analytics (KB5xx).
inline constexpr SqlState not_a_batch_sequence{"KB501"};
inline constexpr SqlState refresh_needs_read_committed{"KB502"};

// georoute (KB6xx).
inline constexpr SqlState unknown_region{"KB601"};
inline constexpr SqlState invalid_region_id{"KB602"};
inline constexpr SqlState local_region_unset{"KB603"};
inline constexpr SqlState region_exists{"KB604"};
inline constexpr SqlState unknown_region_server{"KB605"};
inline constexpr SqlState residency_violation{"KB608"};
inline constexpr SqlState home_region_read{"KB611"};
inline constexpr SqlState region_change_across_jurisdictions{"KB612"};
inline constexpr SqlState georoute_not_preloaded{"KB613"};
inline constexpr SqlState remote_failed{"KB615"};

inline constexpr ErrorCode kErrorCodes[] = {
    {"22004", "null_value_not_allowed", "a required argument is NULL"},
    {"22023", "invalid_parameter_value", "an argument is out of its documented range"},
    {"57014", "query_canceled", "a long native loop was cancelled or hit statement_timeout"},
    {"25000", "invalid_transaction_state", "eventstore: rebuild() called in a REPEATABLE READ or SERIALIZABLE transaction"},
    {"54001", "statement_too_complex", "a JSON value nested too deeply for the server's stack (max_stack_depth)"},
    {"53200", "out_of_memory", "a C++ allocation failed inside a native function"},
    {"XX000", "internal_error", "a C++ exception that is not a casebook error (a bug: please report)"},
    {"40001", "serialization_failure", "eventstore: in REPEATABLE READ or SERIALIZABLE, the stream changed after the transaction's snapshot (retry the transaction)"},
    {"KB000", "casebook_error", "a function called in a way its SQL declaration does not allow (e.g. a trigger function called directly)"},
    {"KB001", "extension_not_ready", "the extension's objects are missing or it needs shared_preload_libraries"},
    {"KB101", "insufficient_stock", "a reservation asks for more than is available"},
    {"KB102", "unknown_variant", "the variant id has no inventory row"},
    {"KB103", "unknown_reservation", "the reservation id does not exist"},
    {"KB104", "reservation_not_held", "the reservation was already confirmed or released"},
    {"KB105", "reservation_expired", "the reservation's hold has run out"},
    {"KB106", "idempotency_key_reused", "an idempotency key is reused with different arguments"},
    {"KB107", "unknown_cart", "the cart id does not exist"},
    {"KB108", "cart_not_open", "the cart was already checked out, or has no held reservation"},
    {"KB109", "unknown_order", "the order id does not exist"},
    {"KB110", "invalid_status_transition", "an order status change is not an allowed edge"},
    {"KB111", "unknown_order_status", "the status name is not an order status"},
    {"KB112", "unknown_product", "the product id does not exist"},
    {"KB113", "unknown_category", "the category id or path does not exist"},
    {"KB114", "unknown_customer", "the user id given for a cart or order is not in commerce.users"},
    {"KB201", "wrong_expected_version", "append's expected_version is not the stream's current version"},
    {"KB202", "invalid_event", "an element of append's events array is malformed (type, data, metadata, id, schema_version)"},
    {"KB203", "event_id_conflict", "an event id is repeated in one append, or already stored in another stream"},
    {"KB204", "stream_category_mismatch", "append names a category different from the stream's"},
    {"KB205", "unknown_subscription", "the subscription name does not exist"},
    {"KB206", "subscription_conflict", "subscribe names an existing subscription with different settings"},
    {"KB207", "events_append_only", "an UPDATE, DELETE or TRUNCATE on eventstore.events"},
    {"KB208", "append_in_prepared_transaction", "PREPARE TRANSACTION after an append in the same transaction"},
    {"KB209", "invalid_member", "a subscription member number is missing or outside 0..members-1"},
    {"KB210", "invalid_projection_spec", "a reducer or upcaster spec is malformed, or an apply function has the wrong signature"},
    {"KB211", "projection_failed", "folding or upcasting an event failed (increment of a non-number, NULL or non-object function result, function or its role gone)"},
    {"KB212", "unknown_projection", "the projection name does not exist"},
    {"KB213", "projection_exists", "create_projection names an existing projection"},
    {"KB214", "personal_subject_missing", "an event of a type with personal fields has no subject value at the subject path"},
    {"KB215", "partition_missing", "a partitioned events table has no partition for the positions an append was given (run eventstore.manage_partitions())"},
    {"KB216", "partitioning_not_configured", "manage_partitions on an unpartitioned store, or without pg_partman"},
    {"KB217", "partition_layout_unsupported", "the events table's partitions are not plain range partitions on position with the parent's columns (a default partition with rows, a sub-partition, other columns)"},
    {"KB218", "events_layout_unreadable", "eventstore.events was changed so that its native replay cannot read it: a column of the extension's retyped or dropped, row security enabled, or one of its indexes changed or dropped (added columns, indexes, constraints and triggers are fine)"},
    {"KB301", "unknown_user", "a user id that feed.users does not hold"},
    {"KB302", "self_follow", "follow with follower = followee"},
    {"KB303", "already_following", "follow of a user already followed"},
    {"KB304", "not_following", "unfollow of a user not followed"},
    {"KB305", "unknown_post", "a post id that feed.posts does not hold"},
    {"KB306", "invalid_cursor", "a home() cursor that is malformed, forged, sealed under a rotated key, or issued to another user"},
    {"KB307", "stale_cursor", "a home() cursor older than feed.cursor_ttl"},
    {"KB308", "username_taken", "create_user with a username already in use"},
    {"KB401", "no_tenant_context", "a statement reads or writes a tenant-protected table (tenancy.tenant() is called) outside a tenant context"},
    {"KB402", "tenant_context_locked", "tenancy.tenant_id changed other than by tenancy.enter(), enter_token() or leave(): SET, SET LOCAL, RESET, set_config(), a function's SET clause, ALTER ROLE/DATABASE ... SET, connection options"},
    {"KB403", "invalid_token", "enter_token() with a token that is malformed, not HS256, signed by no configured key, without exp, not yet valid, or without a UUID in the tenant claim"},
    {"KB404", "token_expired", "enter_token() with a token whose exp has passed (beyond tenancy.token_leeway)"},
    {"KB405", "no_token_key", "enter_token() or issue_token() while tenancy.token_keys holds no key"},
    {"KB406", "not_protectable", "protect() or unprotect() on something that is not a table, a column that is missing or not uuid, a table protected by another column or through its parent, or a table that is not protected"},
    {"KB407", "protection_weakened", "DDL that would remove a protected table's row security: DISABLE or NO FORCE ROW LEVEL SECURITY, dropping or changing tenancy_guard (use tenancy.unprotect())"},
    {"KB408", "unprotected_tenant_table", "a new table with the tenant column in a schema registered with on_new_table => 'refuse'"},
    {"KB409", "session_scope_disabled", "enter() or enter_token() with session => true while tenancy.allow_session_scope is off"},
    {"KB410", "held_cursor_in_context", "DECLARE ... WITH HOLD while a transaction-scoped tenant context is in force (its rows would outlive the context)"},
    {"KB411", "tenant_limit_raised", "a statement starts inside a tenant context with statement_timeout, lock_timeout or work_mem above the tenant's limit (raised by SET, set_config(), RESET)"},
    {"KB412", "foreign_key_cycle", "export() or erase() over protected tables whose foreign keys form a cycle (no delete order exists)"},
    {"KB413", "replica_identity_lacks_tenant", "replicate() while a protected table's replica identity does not contain the tenant column"},
    {"KB414", "fk_validation_under_guard", "ADD FOREIGN KEY (validated) or VALIDATE CONSTRAINT of a foreign key while row security applies to the role on either table"},
    {"KB415", "not_laid_out_for_isolation", "isolate() when no protected table is PARTITION BY LIST (tenant column) with a DEFAULT partition (plain or PARTITION BY HASH (tenant column)) and a primary key"},
    {"KB416", "tenant_not_isolated", "unisolate() of a tenant that has no partition of its own"},
    {"KB417", "move_lock_not_obtained", "isolate() or unisolate() could not take a step's locks within lock_timeout in the given number of attempts (long transactions on the table)"},
    {"KB418", "move_in_progress", "isolate() or unisolate() of a tenant another session is moving, or TRUNCATE of the partition that holds a tenant being isolated"},
    {"KB501", "not_a_batch_sequence", "analytics._batch() called with a sequence that is not a tracked table's batch sequence"},
    {"KB502", "refresh_needs_read_committed", "refresh() inside a REPEATABLE READ or SERIALIZABLE transaction (rows committed while it waits would be skipped)"},
    {"KB503", "not_trackable", "track() of a table that is not PARTITION BY RANGE on a timestamptz column, or without pg_partman"},
    {"KB504", "not_tracked", "create_rollup() or refresh() of a table that track() does not know"},
    {"KB505", "unknown_rollup", "refresh(), series() or drop_rollup() of a rollup name that does not exist (or belongs to a table the role does not own)"},
    {"KB506", "rollup_exists", "create_rollup() with a name already in use"},
    {"KB507", "unknown_dimension", "a dimension, distinct column or measure that the source lacks or cannot use, or a series() filter on a key that is not a dimension"},
    {"KB508", "invalid_bucket", "series() with a bucket other than hour, day or week (finer than the rollup's hourly level, or unknown)"},
    {"KB509", "invalid_range", "series() with from >= to, a NULL or infinite bound, or more than 100,000 buckets"},
    {"KB510", "precision_out_of_range", "create_rollup() with hll_log2m outside 4..17"},
    {"KB511", "rollup_not_owners_tables", "series() of a rollup whose registry row names tables not its owner's own"},
    {"KB601", "unknown_region", "next_id(), route() or another function given a region code georoute.regions does not have"},
    {"KB602", "invalid_region_id", "region_of_id() or route() of a value that is not a georoute id, or of an id whose region number is not registered here"},
    {"KB603", "local_region_unset", "next_id() in a cluster whose georoute.local_region is not set or not a registered region"},
    {"KB604", "region_exists", "add_region() with a code or number already registered"},
    {"KB605", "unknown_region_server", "add_region() naming a foreign server that does not exist or is not a postgres_fdw server"},
    {"KB606", "not_distributable", "distribute() of a table that is not PARTITION BY LIST on a text region column, or with a unique index that is not a constraint"},
    {"KB607", "distributed_table_referenced", "distribute() of a table that a foreign key references"},
    {"KB608", "residency_violation", "DDL that would let a partition of a distributed table store a region's rows outside its jurisdiction (a local partition in a cluster of another jurisdiction, a foreign partition on another jurisdiction's server, a DEFAULT partition, an unregistered region, the region-change trigger dropped), or a publication or subscription that would copy its rows across regions without the row filter to the local region"},
    {"KB609", "reference_without_key", "replicate_reference() of a table without a primary key"},
    {"KB610", "reference_read_only", "a write to a region's copy of reference data (it is written in its origin region)"},
    {"KB611", "home_region_read", "with georoute.enforce_home_region on, a query that would read rows of a distributed table from another region's cluster"},
    {"KB612", "region_change_across_jurisdictions", "an UPDATE that changes a row's region to a region of another jurisdiction"},
    {"KB613", "georoute_not_preloaded", "distribute() in a cluster whose shared_preload_libraries does not load georoute (its guard would be missing from some sessions)"},
    {"KB614", "credential_in_clear", "a user mapping of a region's foreign server with a password (or sslpassword) option: readable by its role and the server's owner"},
    {"KB615", "remote_failed", "a statement georoute runs in another database (the router for proxy(), the target region for move()) could not connect or failed (its error and SQLSTATE in the detail and hint)"},
    {"KB616", "proxy_not_routable", "proxy() of a function whose key argument is missing or not bigint (a georoute id) or text (a region code or \"<region>:<key>\"), or proxy_cluster() in a database without PL/Proxy"},
    {"KB617", "move_incomplete", "move() could not finish (the copy took longer than its wait, the switch could not lock the partition, the copy did not match): it was undone, the rows are where they were"},
};

inline constexpr std::span<const ErrorCode> all() { return kErrorCodes; }

}  // namespace casebook::errcodes
