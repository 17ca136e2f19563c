-- commerce catalog: category subtrees and product pages with kept review aggregates.
\i sql/include/try.psql
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS commerce CASCADE;
RESET client_min_messages;
INSERT INTO commerce.users (id, email, password_hash)
SELECT 500 + g, 'reviewer' || g || '@example.com', 'x' FROM generate_series(1, 6) g;
INSERT INTO commerce.categories (id, name, parent_id) VALUES (500, 'Outdoor', NULL);
INSERT INTO commerce.categories (id, name, parent_id) VALUES (501, 'Camping', 500), (502, 'Tents', 501), (503, 'Cycling', 500);
INSERT INTO commerce.categories (id, name, parent_id) VALUES (504, 'Books', NULL);
INSERT INTO commerce.products (id, sku, name, category_id, base_price, created_at)
VALUES (500, 'OD-1', 'Stove', 501, 40, '2026-01-01'), (501, 'OD-2', 'Tent 2p', 502, 200, '2026-01-02'),
       (502, 'OD-3', 'Helmet', 503, 60, '2026-01-03'), (503, 'BK-1', 'Guide', 504, 15, '2026-01-04');
INSERT INTO commerce.product_variants (id, product_id, sku) VALUES (500, 501, 'OD-2-G'), (501, 501, 'OD-2-R');

SELECT id, name FROM commerce.products_in_category(500);   -- whole subtree, newest first
SELECT id, name FROM commerce.products_in_category(501);
SELECT id, name FROM commerce.products_in_category(502);
SELECT pg_temp.try('SELECT count(*) FROM commerce.products_in_category(9999)');

-- Product page: no reviews yet.
SELECT id, name, review_count, avg_rating, rating_distribution, variant_ids FROM commerce.product_page(501);
-- Reviews keep the aggregates current: insert, update, delete.
INSERT INTO commerce.reviews (product_id, user_id, rating)
VALUES (501, 501, 5), (501, 502, 4), (501, 503, 4), (501, 504, 1), (500, 505, 3);
SELECT review_count, avg_rating, rating_distribution FROM commerce.product_page(501);
UPDATE commerce.reviews SET rating = 5 WHERE product_id = 501 AND user_id = 504;
SELECT review_count, avg_rating, rating_distribution FROM commerce.product_page(501);
DELETE FROM commerce.reviews WHERE product_id = 501 AND user_id = 502;
SELECT review_count, avg_rating, rating_distribution FROM commerce.product_page(501);
UPDATE commerce.reviews SET product_id = 500 WHERE product_id = 501 AND user_id = 503;  -- moved to another product
SELECT id, review_count, avg_rating, rating_distribution FROM commerce.product_page(501)
UNION ALL
SELECT id, review_count, avg_rating, rating_distribution FROM commerce.product_page(500);
-- The kept aggregates equal a full recount.
SELECT s.product_id, s.review_count = r.n AND s.rating_sum = r.total AS matches_recount
  FROM commerce.product_review_stats s
  JOIN (SELECT product_id, count(*) AS n, sum(rating) AS total FROM commerce.reviews GROUP BY product_id) r
 USING (product_id) ORDER BY 1;
SELECT pg_temp.try('SELECT count(*) FROM commerce.product_page(9999)');
SELECT pg_temp.try('SELECT count(*) FROM commerce.product_page(NULL)');
SELECT pg_temp.try('SELECT count(*) FROM commerce.products_in_category(NULL)');
