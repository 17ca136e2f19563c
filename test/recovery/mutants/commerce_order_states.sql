-- An order's total changes without its items (the status trigger allows it).
UPDATE commerce.orders SET total = total + 1 WHERE id = (SELECT min(id) FROM commerce.orders);
