-- feed: feed.timeline_max is a bound. Every 32nd delivery into a timeline
-- trims it back to timeline_max, counted per user in shared memory, so no
-- timeline holds more than timeline_max + 31 entries, whatever the ids of
-- the posts it receives; a trim undone by a rollback (of the transaction or
-- of a subtransaction) makes the next delivery trim.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS feed;
CREATE EXTENSION feed;
RESET client_min_messages;
SET feed.fanout_sync_max = 1000;
SELECT feed.create_user(name) FROM unnest(ARRAY['reader', 'author', 'other', 'second', 'writer']) AS name;
SELECT feed.follow(1, 2) AS reader_follows_author, feed.follow(4, 5) AS second_follows_writer;

-------------------------------------------------------------------------------
-- Adversarial ids: 0.1 trimmed when (user_id + post_id) % 32 = 0. Here the
-- author only gets the ids that miss the reader's residue; another author
-- (whom the reader does not follow) takes the others. 300 deliveries at
-- timeline_max = 40: 0.1 kept all 300.
-------------------------------------------------------------------------------
SET feed.timeline_max = 40;
CREATE TEMP TABLE sizes (delivery integer, entries bigint);
-- n posts by the author, each delivered to the reader (user 1), none with
-- an id that 0.1 would have trimmed on; the reader's size after each.
CREATE FUNCTION pg_temp.deliver_adversarially(n integer, content text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    next_id bigint := (SELECT coalesce(max(id), 0) + 1 FROM feed.posts);
    delivered integer := 0;
BEGIN
    TRUNCATE sizes;
    WHILE delivered < n LOOP
        IF (1 + next_id) % 32 = 0 THEN
            next_id := feed.post(3, 'decoy') + 1;
        ELSE
            next_id := feed.post(2, content) + 1;
            delivered := delivered + 1;
            INSERT INTO sizes SELECT delivered, count(*) FROM feed.timelines WHERE user_id = 1;
        END IF;
    END LOOP;
END $$;
SELECT pg_temp.deliver_adversarially(300, 'to the reader');
-- Every delivered post's id missed the old rule's residue.
SELECT count(*) AS delivered, count(*) FILTER (WHERE (1 + p.id) % 32 = 0) AS old_rule_would_trim
  FROM feed.timelines t RIGHT JOIN feed.posts p ON p.id = t.post_id AND t.user_id = 1 WHERE p.author_id = 2;
-- The largest the timeline ever was, and now: within 40 + 31, and the
-- bound is reached (31 deliveries pile up between two trims).
SELECT max(entries) AS largest, max(entries) <= 40 + 31 AS within_bound,
       (SELECT entries FROM sizes ORDER BY delivery DESC LIMIT 1) <= 40 + 31 AS now_within_bound,
       count(*) FILTER (WHERE entries = 40) >= 8 AS trimmed_to_40_at_least_8_times
  FROM sizes WHERE delivery > 40;
-- Each trim cut exactly to timeline_max, and trims come every 32 deliveries.
SELECT count(*) = 0 AS every_gap_is_32
  FROM (SELECT delivery - lag(delivery) OVER (ORDER BY delivery) AS gap FROM sizes
         WHERE delivery > 40 AND entries = 40) g
 WHERE gap IS NOT NULL AND gap <> 32;
SELECT count(*) BETWEEN 40 AND 71 AS reader_within_bound FROM feed.timelines WHERE user_id = 1;

-------------------------------------------------------------------------------
-- A trim undone by a rollback: the next delivery trims. timeline_max = 3.
-------------------------------------------------------------------------------
SET feed.timeline_max = 3;
-- The second reader's count after each of the writer's posts.
CREATE FUNCTION pg_temp.post_and_count() RETURNS bigint LANGUAGE sql AS $$
    SELECT feed.post(5, 'to the second reader');
    SELECT count(*) FROM feed.timelines WHERE user_id = 4 $$;
SELECT count(pg_temp.post_and_count()) FROM generate_series(1, 40);
-- Post until a delivery trims (the timeline is back at 3 entries right
-- after it), then 31 more: 34 entries, the next delivery is due.
DO $$
BEGIN
    FOR i IN 1 .. 40 LOOP
        EXIT WHEN pg_temp.post_and_count() = 3;
    END LOOP;
END $$;
SELECT count(*) AS just_trimmed FROM feed.timelines WHERE user_id = 4;
SELECT max(pg_temp.post_and_count()) AS after_31 FROM generate_series(1, 31);
-- That delivery trims, and rolls back: its rows and its trim are undone.
BEGIN;
SELECT pg_temp.post_and_count() AS trimmed_in_transaction;
ROLLBACK;
SELECT count(*) AS after_rollback FROM feed.timelines WHERE user_id = 4;
-- The next delivery trims (without the rollback's note it would count as
-- the first after a trim: 35 entries, and 31 more would pile up). It may
-- cut to 2: the trim counts the index entries of the rolled-back row until
-- they are known dead (docs/feed.md, "Trimming and inactive users").
SELECT pg_temp.post_and_count() <= 3 AS next_delivery_trims;
-- The same through a subtransaction rolled back inside a transaction that
-- commits.
SELECT max(pg_temp.post_and_count()) >= 2 + 31 AS piled_up_31 FROM generate_series(1, 31);
BEGIN;
SAVEPOINT s;
SELECT pg_temp.post_and_count() <= 3 AS trimmed_in_subtransaction;
ROLLBACK TO SAVEPOINT s;
SELECT count(*) >= 2 + 31 AS rolled_back_to_savepoint FROM feed.timelines WHERE user_id = 4;
SELECT pg_temp.post_and_count() <= 3 AS next_delivery_trims;
COMMIT;
SELECT count(*) <= 3 AS committed_trimmed FROM feed.timelines WHERE user_id = 4;

-------------------------------------------------------------------------------
-- The SQL path (an INSERT trigger of the owner's on feed.timelines) counts
-- and trims the same way.
-------------------------------------------------------------------------------
CREATE FUNCTION public.feed_trim_pass() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER pass BEFORE INSERT ON feed.timelines FOR EACH ROW EXECUTE FUNCTION public.feed_trim_pass();
SET feed.timeline_max = 40;
SELECT pg_temp.deliver_adversarially(300, 'through SQL');
SELECT max(entries) AS largest, max(entries) <= 40 + 31 AS within_bound,
       count(*) FILTER (WHERE entries = 40) >= 8 AS trimmed_to_40_at_least_8_times
  FROM sizes;
DROP TRIGGER pass ON feed.timelines;
DROP FUNCTION public.feed_trim_pass();
RESET feed.timeline_max;
RESET feed.fanout_sync_max;
