-- casebook commerce 0.2.0: case study 1 (e-commerce) with exact inventory
-- holds, carts and checkout. See docs/commerce.md.
\echo Use "CREATE EXTENSION commerce" to load this file. \quit

-------------------------------------------------------------------------------
-- Accounts
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.users (
    id            bigserial PRIMARY KEY,
    email         varchar(255) NOT NULL CHECK (email LIKE '_%@_%'),
    password_hash varchar(255) NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Case-insensitive uniqueness: Alice@x and alice@x are one account.
CREATE UNIQUE INDEX users_email_lower_key ON @extschema@.users (lower(email));

CREATE TABLE @extschema@.addresses (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES @extschema@.users (id) ON DELETE CASCADE,
    type        varchar(20) NOT NULL CHECK (type IN ('shipping', 'billing')),
    street      text NOT NULL,
    city        varchar(100),
    country     char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),  -- ISO 3166-1 alpha-2
    postal_code varchar(20),
    is_default  boolean NOT NULL DEFAULT false
);
CREATE INDEX addresses_user_id_idx ON @extschema@.addresses (user_id);
-- One default address per user and type, enforced by the database.
CREATE UNIQUE INDEX addresses_one_default_idx
    ON @extschema@.addresses (user_id, type) WHERE is_default;

-------------------------------------------------------------------------------
-- Catalog
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.categories (
    id        bigserial PRIMARY KEY,
    name      varchar(100) NOT NULL,
    parent_id bigint REFERENCES @extschema@.categories (id),
    slug      text NOT NULL CHECK (slug ~ '^[a-z0-9_]{1,255}$'),
    path      ltree NOT NULL UNIQUE,   -- maintained by trigger: parent.path || slug
    UNIQUE (parent_id, slug)
);
CREATE INDEX categories_path_gist_idx ON @extschema@.categories USING gist (path);

CREATE TABLE @extschema@.products (
    id          bigserial PRIMARY KEY,
    sku         varchar(50) NOT NULL UNIQUE,
    name        varchar(255) NOT NULL,
    description text,
    category_id bigint REFERENCES @extschema@.categories (id),
    base_price  numeric(12, 2) NOT NULL CHECK (base_price >= 0),
    attributes  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_category_created_idx ON @extschema@.products (category_id, created_at DESC);
CREATE INDEX products_attributes_gin_idx ON @extschema@.products USING gin (attributes jsonb_path_ops);

CREATE TABLE @extschema@.product_variants (
    id             bigserial PRIMARY KEY,
    product_id     bigint NOT NULL REFERENCES @extschema@.products (id) ON DELETE CASCADE,
    sku            varchar(50) NOT NULL UNIQUE,
    name           varchar(100),
    price_modifier numeric(12, 2) NOT NULL DEFAULT 0,
    attributes     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object')
);
CREATE INDEX product_variants_product_id_idx ON @extschema@.product_variants (product_id);

-------------------------------------------------------------------------------
-- Inventory: the hot table, split from the catalog. Every variant has one or
-- more bucket rows; a flash-sale item spreads its stock over n buckets so
-- concurrent holds lock different rows. Buckets numbered >= nbuckets are
-- draining (left by a smaller set_buckets): they keep reserved units until
-- those holds end, and are then removed.
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.stock (
    variant_id bigint  NOT NULL REFERENCES @extschema@.product_variants (id) ON DELETE CASCADE,
    bucket     integer NOT NULL,             -- 0.. ; set_buckets keeps it in range
    nbuckets   integer NOT NULL DEFAULT 1,   -- 1..1024, the same on every row of a variant
    quantity   integer NOT NULL DEFAULT 0,   -- physical units in this bucket
    reserved   integer NOT NULL DEFAULT 0,   -- units held by in-progress checkouts
    PRIMARY KEY (variant_id, bucket),
    -- The invariant, in one constraint (it implies quantity >= 0). PostgreSQL
    -- re-reads every CHECK expression on each UPDATE of this hot table, so
    -- there is exactly one.
    CONSTRAINT stock_never_oversold CHECK (reserved >= 0 AND reserved <= quantity)
) WITH (fillfactor = 20);
-- fillfactor 20: about 30 rows a page. Every hold updates a row; PostgreSQL
-- prunes the page's dead versions on the next visit, and a prune walks the
-- whole page, so fewer rows a page make each hold cheaper (measured: 12%
-- fewer instructions per hold than at fillfactor 50). The cost is space:
-- about 270 bytes a bucket row.

-- The case study's inventory table, as a view over the buckets.
CREATE VIEW @extschema@.inventory AS
SELECT variant_id,
       sum(quantity)::bigint            AS quantity,
       sum(reserved)::bigint            AS reserved,
       sum(quantity - reserved)::bigint AS available,
       max(nbuckets)                    AS buckets
  FROM @extschema@.stock
 GROUP BY variant_id;

-------------------------------------------------------------------------------
-- Carts and holds
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.carts (
    id              bigserial PRIMARY KEY,
    user_id         bigint REFERENCES @extschema@.users (id),
    status          text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'checked_out', 'abandoned')),
    idempotency_key text UNIQUE,
    order_id        bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE @extschema@.hold_status AS ENUM ('held', 'confirmed', 'released', 'expired');

-- Holds are written only by the native functions, which validate every value
-- first; the table carries no CHECK or foreign key of its own so that taking
-- a hold stays one cheap insert (see docs/commerce.md, "Choices").
CREATE TABLE @extschema@.reservations (
    id              bigserial PRIMARY KEY,
    variant_id      bigint  NOT NULL,
    bucket          integer NOT NULL,
    quantity        integer NOT NULL,
    status          @extschema@.hold_status NOT NULL DEFAULT 'held',
    cart_id         bigint,
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT statement_timestamp(),
    expires_at      timestamptz NOT NULL,
    closed_at       timestamptz
);
CREATE UNIQUE INDEX reservations_idempotency_key_idx
    ON @extschema@.reservations (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX reservations_held_expiry_idx
    ON @extschema@.reservations (expires_at) WHERE status = 'held';
CREATE INDEX reservations_cart_idx
    ON @extschema@.reservations (cart_id) WHERE cart_id IS NOT NULL;

-------------------------------------------------------------------------------
-- Orders
-------------------------------------------------------------------------------
CREATE TYPE @extschema@.order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled');

CREATE TABLE @extschema@.orders (
    id                  bigserial PRIMARY KEY,
    user_id             bigint REFERENCES @extschema@.users (id),
    cart_id             bigint UNIQUE REFERENCES @extschema@.carts (id),
    status              @extschema@.order_status NOT NULL DEFAULT 'pending',
    total               numeric(12, 2) NOT NULL CHECK (total >= 0),
    shipping_address_id bigint REFERENCES @extschema@.addresses (id),
    idempotency_key     text UNIQUE,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_user_created_idx ON @extschema@.orders (user_id, created_at DESC);
ALTER TABLE @extschema@.carts
    ADD FOREIGN KEY (order_id) REFERENCES @extschema@.orders (id);

CREATE TABLE @extschema@.order_items (
    id             bigserial PRIMARY KEY,
    order_id       bigint NOT NULL REFERENCES @extschema@.orders (id) ON DELETE CASCADE,
    variant_id     bigint NOT NULL REFERENCES @extschema@.product_variants (id),
    reservation_id bigint,
    quantity       integer NOT NULL CHECK (quantity > 0),
    unit_price     numeric(12, 2) NOT NULL CHECK (unit_price >= 0)
);
CREATE INDEX order_items_order_idx ON @extschema@.order_items (order_id);
CREATE INDEX order_items_variant_idx ON @extschema@.order_items (variant_id);

-------------------------------------------------------------------------------
-- Reviews, with per-product aggregates kept current by trigger
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.reviews (
    id         bigserial PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES @extschema@.products (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES @extschema@.users (id) ON DELETE CASCADE,
    rating     integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title      varchar(200),
    body       text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, user_id)
);
CREATE INDEX reviews_user_idx ON @extschema@.reviews (user_id);

CREATE TABLE @extschema@.product_review_stats (
    product_id   bigint PRIMARY KEY REFERENCES @extschema@.products (id) ON DELETE CASCADE,
    review_count bigint NOT NULL DEFAULT 0 CHECK (review_count >= 0),
    rating_sum   bigint NOT NULL DEFAULT 0,
    rating_1     bigint NOT NULL DEFAULT 0,
    rating_2     bigint NOT NULL DEFAULT 0,
    rating_3     bigint NOT NULL DEFAULT 0,
    rating_4     bigint NOT NULL DEFAULT 0,
    rating_5     bigint NOT NULL DEFAULT 0,
    CHECK (review_count = rating_1 + rating_2 + rating_3 + rating_4 + rating_5)
);

CREATE FUNCTION @extschema@.review_stats_trigger() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE @extschema@.product_review_stats s
           SET review_count = review_count - 1,
               rating_sum = rating_sum - OLD.rating,
               rating_1 = rating_1 - (OLD.rating = 1)::int,
               rating_2 = rating_2 - (OLD.rating = 2)::int,
               rating_3 = rating_3 - (OLD.rating = 3)::int,
               rating_4 = rating_4 - (OLD.rating = 4)::int,
               rating_5 = rating_5 - (OLD.rating = 5)::int
         WHERE s.product_id = OLD.product_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO @extschema@.product_review_stats AS s
               (product_id, review_count, rating_sum, rating_1, rating_2, rating_3, rating_4, rating_5)
        VALUES (NEW.product_id, 1, NEW.rating, (NEW.rating = 1)::int, (NEW.rating = 2)::int,
                (NEW.rating = 3)::int, (NEW.rating = 4)::int, (NEW.rating = 5)::int)
        ON CONFLICT (product_id) DO UPDATE
           SET review_count = s.review_count + 1,
               rating_sum = s.rating_sum + EXCLUDED.rating_sum,
               rating_1 = s.rating_1 + EXCLUDED.rating_1,
               rating_2 = s.rating_2 + EXCLUDED.rating_2,
               rating_3 = s.rating_3 + EXCLUDED.rating_3,
               rating_4 = s.rating_4 + EXCLUDED.rating_4,
               rating_5 = s.rating_5 + EXCLUDED.rating_5;
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER reviews_keep_stats
    AFTER INSERT OR DELETE OR UPDATE OF product_id, rating ON @extschema@.reviews
    FOR EACH ROW EXECUTE FUNCTION @extschema@.review_stats_trigger();

-------------------------------------------------------------------------------
-- Category paths: path = parent's path || slug, kept right on insert, rename
-- and move (descendants follow); a category cannot move under itself.
-------------------------------------------------------------------------------
-- (Its search_path gains ltree's schema at the end of this script.)
CREATE FUNCTION @extschema@.category_path_trigger() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    parent_path ltree;
BEGIN
    IF NEW.slug IS NULL THEN
        NEW.slug := trim(both '_' from regexp_replace(lower(NEW.name), '[^a-z0-9]+', '_', 'g'));
        IF NEW.slug = '' THEN
            NEW.slug := 'c';
        END IF;
    END IF;
    IF NEW.parent_id IS NULL THEN
        NEW.path := NEW.slug::ltree;
    ELSE
        SELECT c.path INTO parent_path FROM @extschema@.categories c WHERE c.id = NEW.parent_id;
        IF parent_path IS NULL THEN
            RAISE EXCEPTION 'category % does not exist', NEW.parent_id
                USING ERRCODE = 'KB113';
        END IF;
        IF TG_OP = 'UPDATE' AND parent_path <@ OLD.path THEN
            RAISE EXCEPTION 'category % cannot move under its own subtree (%)', NEW.id, parent_path
                USING ERRCODE = '22023';
        END IF;
        NEW.path := parent_path || NEW.slug::ltree;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.path <> OLD.path THEN
        UPDATE @extschema@.categories c
           SET path = NEW.path || subpath(c.path, nlevel(OLD.path))
         WHERE c.path <@ OLD.path AND c.id <> NEW.id;
    END IF;
    RETURN NEW;
END
$fn$;
CREATE TRIGGER categories_keep_path
    BEFORE INSERT OR UPDATE OF parent_id, slug ON @extschema@.categories
    FOR EACH ROW EXECUTE FUNCTION @extschema@.category_path_trigger();

-- A new variant starts with one empty stock bucket.
CREATE FUNCTION @extschema@.variant_stock_trigger() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    INSERT INTO @extschema@.stock (variant_id, bucket, nbuckets, quantity, reserved)
    VALUES (NEW.id, 0, 1, 0, 0);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER product_variants_create_stock
    AFTER INSERT ON @extschema@.product_variants
    FOR EACH ROW EXECUTE FUNCTION @extschema@.variant_stock_trigger();

-------------------------------------------------------------------------------
-- Native functions (extensions/commerce/*.cpp). They write the stock, hold and
-- order tables on the caller's behalf: SECURITY DEFINER with a fixed
-- search_path, every name inside schema-qualified.
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.restock(variant bigint, qty bigint) RETURNS bigint
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_restock';
COMMENT ON FUNCTION @extschema@.restock(bigint, bigint) IS
    'adds qty physical units to a variant (spread over its buckets); returns the new available count';

CREATE FUNCTION @extschema@.available(variant bigint) RETURNS bigint
    LANGUAGE c STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_available';
COMMENT ON FUNCTION @extschema@.available(bigint) IS
    'units of a variant that can be reserved now (quantity - reserved over all buckets)';

CREATE FUNCTION @extschema@.reserve(variant bigint, qty bigint,
                                    hold interval DEFAULT '15 minutes',
                                    idempotency_key text DEFAULT NULL) RETURNS bigint
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_reserve';
COMMENT ON FUNCTION @extschema@.reserve(bigint, bigint, interval, text) IS
    'holds qty units of a variant for the hold period; all or nothing; returns the reservation id';

CREATE FUNCTION @extschema@.reserve_cart(variants bigint[], quantities bigint[],
                                         hold interval DEFAULT '15 minutes',
                                         idempotency_key text DEFAULT NULL,
                                         user_id bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_reserve_cart';
COMMENT ON FUNCTION @extschema@.reserve_cart(bigint[], bigint[], interval, text, bigint) IS
    'holds every line of a cart or none (stock locked in variant order); returns the cart id';

CREATE FUNCTION @extschema@.confirm(reservation bigint) RETURNS void
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_confirm';
COMMENT ON FUNCTION @extschema@.confirm(bigint) IS
    'turns a held reservation into a sale: quantity and reserved both drop';

CREATE FUNCTION @extschema@.release(reservation bigint) RETURNS void
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_release';
COMMENT ON FUNCTION @extschema@.release(bigint) IS
    'gives a held reservation''s units back';

CREATE FUNCTION @extschema@.expire(max_holds bigint DEFAULT 10000) RETURNS integer
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_expire';
COMMENT ON FUNCTION @extschema@.expire(bigint) IS
    'frees holds past their time (at most max_holds per call); returns how many';

CREATE FUNCTION @extschema@.set_buckets(variant bigint, n bigint) RETURNS integer
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_set_buckets';
COMMENT ON FUNCTION @extschema@.set_buckets(bigint, bigint) IS
    'spreads a variant''s available stock over n bucket rows (1..1024) for hot items';

CREATE FUNCTION @extschema@.checkout(cart bigint, shipping_address_id bigint DEFAULT NULL,
                                     idempotency_key text DEFAULT NULL) RETURNS bigint
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_checkout';
COMMENT ON FUNCTION @extschema@.checkout(bigint, bigint, text) IS
    'turns a cart''s holds into an order at current prices, in one transaction; returns the order id';

CREATE FUNCTION @extschema@.set_order_status(order_id bigint, status text)
    RETURNS @extschema@.order_status
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_set_order_status';
COMMENT ON FUNCTION @extschema@.set_order_status(bigint, text) IS
    'moves an order along an allowed edge; cancelling returns its stock';

CREATE FUNCTION @extschema@.orders_guard() RETURNS trigger
    LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'commerce_orders_guard';
CREATE TRIGGER orders_status_guard
    BEFORE UPDATE ON @extschema@.orders
    FOR EACH ROW EXECUTE FUNCTION @extschema@.orders_guard();

-------------------------------------------------------------------------------
-- Catalog reads
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.products_in_category(category bigint)
RETURNS SETOF @extschema@.products
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    root ltree;
BEGIN
    IF category IS NULL THEN
        RAISE EXCEPTION 'argument category must not be NULL' USING ERRCODE = '22004';
    END IF;
    SELECT c.path INTO root FROM @extschema@.categories c WHERE c.id = category;
    IF root IS NULL THEN
        RAISE EXCEPTION 'category % does not exist', category USING ERRCODE = 'KB113';
    END IF;
    RETURN QUERY
        SELECT p.*
          FROM @extschema@.products p
         WHERE p.category_id IN (SELECT c.id FROM @extschema@.categories c WHERE c.path <@ root)
         ORDER BY p.created_at DESC, p.id DESC;
END
$fn$;
COMMENT ON FUNCTION @extschema@.products_in_category(bigint) IS
    'products of a category and all its subcategories (one ltree index probe, no recursive CTE)';

CREATE FUNCTION @extschema@.product_page(product bigint)
RETURNS TABLE (id bigint, sku varchar, name varchar, description text, base_price numeric,
               attributes jsonb, review_count bigint, avg_rating numeric,
               rating_distribution jsonb, variant_ids bigint[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF product IS NULL THEN
        RAISE EXCEPTION 'argument product must not be NULL' USING ERRCODE = '22004';
    END IF;
    RETURN QUERY
        SELECT p.id, p.sku, p.name, p.description, p.base_price, p.attributes,
               coalesce(s.review_count, 0),
               CASE WHEN coalesce(s.review_count, 0) = 0 THEN NULL
                    ELSE round(s.rating_sum::numeric / s.review_count, 2) END,
               jsonb_build_object('5', coalesce(s.rating_5, 0), '4', coalesce(s.rating_4, 0),
                                  '3', coalesce(s.rating_3, 0), '2', coalesce(s.rating_2, 0),
                                  '1', coalesce(s.rating_1, 0)),
               ARRAY(SELECT v.id FROM @extschema@.product_variants v
                      WHERE v.product_id = p.id ORDER BY v.id)
          FROM @extschema@.products p
          LEFT JOIN @extschema@.product_review_stats s ON s.product_id = p.id
         WHERE p.id = product;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'product % does not exist', product USING ERRCODE = 'KB112';
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@.product_page(bigint) IS
    'a product with its review count, average and 1-5 distribution, read from kept aggregates';

-------------------------------------------------------------------------------
-- pg_cron jobs (since 0.2.0). The jobs this extension schedules are recorded
-- in cron_jobs, and DROP EXTENSION removes exactly those: a job of anybody
-- else's stays, whatever its name or command (docs/upgrading.md).
-------------------------------------------------------------------------------
-- A row matches a job on jobid, jobname and username together, so an id that
-- a re-created pg_cron hands out again is never taken for ours. parked holds
-- the job's cron.job row while a DROP command runs (see _cron_park).
CREATE TABLE @extschema@.cron_jobs (
    jobid    bigint PRIMARY KEY,
    jobname  text   NOT NULL,
    username text   NOT NULL,
    parked   jsonb
);
COMMENT ON TABLE @extschema@.cron_jobs IS
    'The pg_cron jobs this extension scheduled: DROP EXTENSION removes them, and only them.';

-- Schedules a job in this database as the current user and records it,
-- unless a job of that name exists for this user or in this database (ours
-- already, or somebody else's, which is left alone). Returns the job id, or
-- NULL when nothing was scheduled (no pg_cron here, or the name is taken).
CREATE FUNCTION @extschema@._cron_schedule(job_name text, job_schedule text, job_command text)
    RETURNS bigint
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM cron.job j
                WHERE j.jobname = job_name
                  AND (j.username = current_user OR j.database = current_database())) THEN
        RETURN NULL;
    END IF;
    id := cron.schedule(job_name, job_schedule, job_command);
    INSERT INTO @extschema@.cron_jobs (jobid, jobname, username) VALUES (id, job_name, current_user);
    RETURN id;
END
$fn$;

-- An extension's event triggers are dropped with it, before they could act
-- on its drop. So before every command that can drop the extension (DROP
-- EXTENSION, also of one it requires; DROP SCHEMA ... CASCADE; DROP OWNED)
-- its jobs are parked: taken out of cron.job and kept in cron_jobs.parked.
-- If the extension survives the command, its ddl_command_end trigger puts
-- them back (_cron_restore); if the command dropped it, they are gone with
-- it. A rollback undoes both.
CREATE FUNCTION @extschema@._cron_park() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    job record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.cron_jobs)
       OR NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RETURN;
    END IF;
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        WITH taken AS (
            DELETE FROM cron.job j USING @extschema@.cron_jobs c
             WHERE j.jobid = c.jobid AND j.jobname = c.jobname AND j.username = c.username
            RETURNING j.jobid, to_jsonb(j) AS job_row)
        UPDATE @extschema@.cron_jobs c SET parked = taken.job_row FROM taken WHERE c.jobid = taken.jobid;
    ELSIF has_schema_privilege('cron', 'USAGE')
          AND has_function_privilege(to_regprocedure('cron.unschedule(bigint)'), 'EXECUTE')
          AND has_function_privilege(to_regprocedure('cron.schedule(text,text,text)'), 'EXECUTE') THEN
        -- An owner without superuser may not write cron.job, and sees only
        -- its own jobs there: pg_cron lets it unschedule those, and schedule
        -- them again. (Without these rights it can do neither, by hand
        -- either: its jobs are left alone, and any DROP goes on.)
        FOR job IN SELECT c.jobid, to_jsonb(j) AS job_row
                     FROM @extschema@.cron_jobs c
                     JOIN cron.job j ON j.jobid = c.jobid AND j.jobname = c.jobname AND j.username = c.username
        LOOP
            PERFORM cron.unschedule(job.jobid);
            UPDATE @extschema@.cron_jobs SET parked = job.job_row WHERE jobid = job.jobid;
        END LOOP;
    END IF;
END
$fn$;

-- The extension survived a command that could have dropped it: its parked
-- jobs go back to cron.job.
CREATE FUNCTION @extschema@._cron_restore() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    job record;
    id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.cron_jobs WHERE parked IS NOT NULL) THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        -- The command dropped pg_cron and every job with it; the ids a
        -- re-created pg_cron hands out are not ours.
        DELETE FROM @extschema@.cron_jobs;
        RETURN;
    END IF;
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        -- The same rows, job ids included.
        INSERT INTO cron.job
        SELECT r.* FROM @extschema@.cron_jobs c, jsonb_populate_record(NULL::cron.job, c.parked) r
         WHERE c.parked IS NOT NULL
        ON CONFLICT DO NOTHING;
        UPDATE @extschema@.cron_jobs SET parked = NULL WHERE parked IS NOT NULL;
    ELSE
        -- Scheduled again through pg_cron, under a new job id.
        FOR job IN SELECT c.jobid, c.parked FROM @extschema@.cron_jobs c WHERE c.parked IS NOT NULL LOOP
            id := cron.schedule(job.parked ->> 'jobname', job.parked ->> 'schedule', job.parked ->> 'command');
            UPDATE @extschema@.cron_jobs SET jobid = id, parked = NULL WHERE jobid = job.jobid;
            IF (job.parked ->> 'active') = 'false' THEN
                BEGIN
                    PERFORM cron.alter_job(id, active => false);
                EXCEPTION WHEN insufficient_privilege OR undefined_function THEN
                    RAISE WARNING 'pg_cron job % (id %) of extension commerce is active again', job.parked ->> 'jobname', id
                        USING DETAIL = 'It was inactive, and the extension''s owner may not call cron.alter_job.',
                              HINT = pg_catalog.format('A superuser can run: SELECT cron.alter_job(%s, active => false)', id);
                END;
            END IF;
        END LOOP;
    END IF;
END
$fn$;

CREATE EVENT TRIGGER commerce_cron_park ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION @extschema@._cron_park();
CREATE EVENT TRIGGER commerce_cron_restore ON ddl_command_end
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION @extschema@._cron_restore();
-- Also under session_replication_role = replica: the two fire together or
-- not at all.
ALTER EVENT TRIGGER commerce_cron_park ENABLE ALWAYS;
ALTER EVENT TRIGGER commerce_cron_restore ENABLE ALWAYS;

-------------------------------------------------------------------------------
-- Privileges: nobody but the owner writes the tables. Catalog reads are open;
-- the shop and admin functions are granted explicitly (docs/commerce.md).
-------------------------------------------------------------------------------
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT SELECT ON @extschema@.categories, @extschema@.products, @extschema@.product_variants,
                @extschema@.product_review_stats, @extschema@.inventory TO PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.available(bigint),
                          @extschema@.products_in_category(bigint),
                          @extschema@.product_page(bigint) TO PUBLIC;

-- The functions that use ltree find it wherever it was installed.
DO $do$
DECLARE
    ltree_schema name;
BEGIN
    SELECT n.nspname INTO ltree_schema
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'ltree';
    EXECUTE pg_catalog.format(
        'ALTER FUNCTION @extschema@.category_path_trigger() SET search_path = pg_catalog, %I, pg_temp',
        ltree_schema);
    EXECUTE pg_catalog.format(
        'ALTER FUNCTION @extschema@.products_in_category(bigint) SET search_path = pg_catalog, %I, pg_temp',
        ltree_schema);
END
$do$;

-- Abandoned holds must not keep stock: expire them every minute when pg_cron
-- is installed in this database (otherwise see docs/commerce.md).
SELECT @extschema@._cron_schedule('commerce-expire', '* * * * *', 'SELECT commerce.expire()');
