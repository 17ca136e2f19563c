-- casebook: the native reducer rebuild of the same stream.
SELECT eventstore.rebuild('order_totals', 'order-big');
