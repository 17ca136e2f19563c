// commerce: the layout of the tables its direct paths write, as the
// extension creates them. The hold fast path runs only while the tables
// match (core/layout.hpp); a regression test (core_layout) prints the
// description of a fresh install, so a change to the install script that
// is not made here too shows up there.
#pragma once

namespace casebook::commerce {

// commerce.stock as the extension creates it (the lines of core/layout.hpp describe()).
inline constexpr const char kStockLayout[] =
    "table\n"
    "column variant_id bigint NOT NULL\n"
    "column bucket integer NOT NULL\n"
    "column nbuckets integer NOT NULL DEFAULT 1\n"
    "column quantity integer NOT NULL DEFAULT 0\n"
    "column reserved integer NOT NULL DEFAULT 0\n"
    "constraint stock_never_oversold CHECK (((reserved >= 0) AND (reserved <= quantity)))\n"
    "constraint stock_pkey PRIMARY KEY (variant_id, bucket)\n"
    "constraint stock_variant_id_fkey FOREIGN KEY (variant_id) REFERENCES commerce.product_variants(id) ON DELETE CASCADE\n"
    "index stock_pkey UNIQUE USING btree (variant_id, bucket)\n"
    ;

// commerce.reservations as the extension creates it (the lines of core/layout.hpp describe()).
inline constexpr const char kReservationsLayout[] =
    "table\n"
    "column id bigint NOT NULL DEFAULT nextval('commerce.reservations_id_seq'::regclass)\n"
    "column variant_id bigint NOT NULL\n"
    "column bucket integer NOT NULL\n"
    "column quantity integer NOT NULL\n"
    "column status commerce.hold_status NOT NULL DEFAULT 'held'::commerce.hold_status\n"
    "column cart_id bigint\n"
    "column idempotency_key text\n"
    "column created_at timestamp with time zone NOT NULL DEFAULT statement_timestamp()\n"
    "column expires_at timestamp with time zone NOT NULL\n"
    "column closed_at timestamp with time zone\n"
    "constraint reservations_pkey PRIMARY KEY (id)\n"
    "index reservations_cart_idx USING btree (cart_id) WHERE (cart_id IS NOT NULL)\n"
    "index reservations_held_expiry_idx USING btree (expires_at) WHERE (status = 'held'::commerce.hold_status)\n"
    "index reservations_idempotency_key_idx UNIQUE USING btree (idempotency_key) WHERE (idempotency_key IS NOT NULL)\n"
    "index reservations_pkey UNIQUE USING btree (id)\n"
    ;

}  // namespace casebook::commerce
