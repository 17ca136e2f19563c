-- Baseline: the case study's replay loop (plpgsql, apply_event per event).
SELECT textbook.rebuild_order_projection('order-big');
