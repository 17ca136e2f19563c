-- One stream's inline state loses its count.
UPDATE eventstore.projection_state SET state = jsonb_set(state, '{n}', '0')
 WHERE projection = 'rc_inline'
   AND stream_id = (SELECT min(stream_id) FROM eventstore.projection_state WHERE projection = 'rc_inline');
