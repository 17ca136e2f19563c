-- casebook: the same 100-event batch appended to a new stream.
SELECT eventstore.append('order-' || gen_random_uuid(), (SELECT events FROM bench.batch), 0);
