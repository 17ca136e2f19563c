-- commerce: rows written through the extension's functions (the API of the
-- oldest version tested) before ALTER EXTENSION ... UPDATE. The same script
-- fills the fresh install, so both databases hold the same data when the
-- pgTAP suites run. Ids from 9001 up: the suites use lower ones.
INSERT INTO commerce.users (id, email, password_hash) VALUES (9001, 'upgrade@example.com', 'x');
INSERT INTO commerce.addresses (id, user_id, type, street, country, is_default)
VALUES (9001, 9001, 'shipping', '1 Upgrade Rd', 'DE', true);
INSERT INTO commerce.categories (id, name, parent_id, slug)
VALUES (9001, 'Upgrade tools', NULL, 'upgrade_tools'), (9002, 'Upgrade saws', 9001, 'upgrade_saws');
INSERT INTO commerce.products (id, sku, name, category_id, base_price)
VALUES (9001, 'UPG-SAW', 'Upgrade saw', 9002, 10.00);
INSERT INTO commerce.product_variants (id, product_id, sku, price_modifier)
VALUES (9001, 9001, 'UPG-SAW-S', 0), (9002, 9001, 'UPG-SAW-L', 1.50);
SELECT commerce.restock(9001, 20), commerce.restock(9002, 5);
SELECT commerce.set_buckets(9001, 4);
SELECT commerce.reserve(9001, 3, interval '1 day', 'upgrade-hold') IS NOT NULL AS held;
SELECT commerce.reserve_cart(ARRAY[9001, 9002]::bigint[], ARRAY[2, 1], interval '1 day', 'upgrade-cart', 9001) AS cart \gset
SELECT commerce.checkout(:cart, 9001, 'upgrade-order') AS ord \gset
SELECT commerce.set_order_status(:ord, 'paid');
SELECT commerce.reserve(9002, 1, interval '1 day', 'upgrade-released') AS released \gset
SELECT commerce.release(:released);
INSERT INTO commerce.reviews (product_id, user_id, rating, title) VALUES (9001, 9001, 4, 'survives upgrades');
-- A grant on functions whose signatures change in 0.2.0 (integer -> bigint):
-- the update keeps it (data/commerce_check.sql).
DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'upg_commerce_app') THEN CREATE ROLE upg_commerce_app; END IF; END $$;
GRANT EXECUTE ON FUNCTION commerce.reserve, commerce.reserve_cart, commerce.restock TO upg_commerce_app;
