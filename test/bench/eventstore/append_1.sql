-- casebook: one event appended to a new stream (expected_version 0).
SELECT eventstore.append('order-' || gen_random_uuid(),
                         '[{"type": "OrderCreated", "data": {"customer_id": 456, "items": []}}]', 0);
