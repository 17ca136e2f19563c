-- eventstore: run after the data checks, before the pgTAP suites, in both
-- databases: eventstore_projections counts every projection of the store,
-- so the one of data/eventstore.sql goes (its state was checked already).
SELECT eventstore.drop_projection('upg_counts');
