-- eventstore: events, a subscription with a checkpoint, an inline
-- projection, an upcaster and a sealed personal field, written through the
-- extension's functions (the API of the oldest version tested) before ALTER
-- EXTENSION ... UPDATE. The same script fills the fresh install. Names start
-- with upg so the pgTAP suites' own data never meets them.
SELECT eventstore.register_upcaster('UpgNoted', 1, '[{"rename": "txt", "to": "text"}]');
SELECT eventstore.set_personal_fields('UpgRegistered', 'person', '{email}');
SELECT eventstore.create_projection('upg_counts', 'upg', reducer => '{"*": [{"increment": "events", "by": 1}]}');
SELECT eventstore.append('upg-1', '[{"type": "UpgRegistered", "data": {"person": "p1", "email": "p1@example.com"}},
                                    {"type": "UpgNoted", "data": {"txt": "first"}}]', 0);
SELECT eventstore.append('upg-2', '[{"type": "UpgNoted", "data": {"txt": "second"}}]', 0);
SELECT eventstore.append('upg-1', '[{"type": "UpgNoted", "data": {"txt": "third"}}]', 2);
SELECT eventstore.subscribe('upg-sub', 'upg');
SELECT count(*) AS polled FROM eventstore.poll('upg-sub', 2);
SELECT eventstore.ack('upg-sub', 2);
-- A grant on functions whose signatures change in 0.2.0 (integer -> bigint):
-- the update keeps it (data/eventstore_check.sql).
DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'upg_eventstore_app') THEN CREATE ROLE upg_eventstore_app; END IF; END $$;
GRANT EXECUTE ON FUNCTION eventstore.read_all, eventstore.poll, eventstore.ack TO upg_eventstore_app WITH GRANT OPTION;
