"""The examples of docs/drivers.md, run with psycopg 3 against the test
cluster, directly and through pgbouncer in transaction mode (test/drivers/
run.sh starts it). Prints one line per check and "N passed, N failed"."""
import os
import select
import sys

import psycopg
from psycopg.types.json import Jsonb

DB = "drivers"
DIRECT = dict(host=os.environ["PGHOST"], port=os.environ["PGPORT"], user="postgres", dbname=DB)
POOLED = dict(host="127.0.0.1", port=os.environ["BOUNCER_PORT"], user="postgres", dbname=DB)

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok      {name}")
    else:
        failed += 1
        print(f"FAILED  {name}: {detail}")


def run(name, fn):
    try:
        fn()
    except Exception as e:  # a check that raised is a failed check
        check(name, False, f"{type(e).__name__}: {e}")


# 1. jsonb parameters: wrap Python values in Jsonb (a plain dict or list is
# not adapted to jsonb by default).
def jsonb_parameter():
    with psycopg.connect(**DIRECT, autocommit=True) as conn:
        version = conn.execute(
            "SELECT eventstore.append(%s, %s)",
            ("acct-1", Jsonb([{"type": "Opened", "data": {"owner": "ana", "limit": 100}}])),
        ).fetchone()[0]
        check("append with a Jsonb parameter returns the stream version", version == 1, version)
        data = conn.execute("SELECT event_data FROM eventstore.read_stream('acct-1')").fetchone()[0]
        check("jsonb comes back as Python objects", data == {"owner": "ana", "limit": 100}, data)


# 2. errors: e.sqlstate (psycopg 3), the SQLSTATEs of docs/errors.md.
def sqlstate():
    with psycopg.connect(**DIRECT, autocommit=True) as conn:
        try:
            conn.execute("SELECT eventstore.append(%s, %s, %s)",
                         ("acct-1", Jsonb([{"type": "Opened", "data": {}}]), 0))
            check("a stale expected_version raises", False, "no error")
        except psycopg.Error as e:
            check("a stale expected_version is KB201 in e.sqlstate", e.sqlstate == "KB201", e.sqlstate)
            check("the message is in e.diag.message_primary",
                  "version" in (e.diag.message_primary or ""), e.diag.message_primary)


# 3. bigint columns: psycopg returns int (node-postgres returns strings).
def bigints():
    with psycopg.connect(**DIRECT, autocommit=True) as conn:
        head = conn.execute("SELECT eventstore.head()").fetchone()[0]
        check("bigint results are Python ints", isinstance(head, int) and head >= 1, repr(head))


# 4. transaction-mode pgbouncer: no server-side prepared statements
# (prepare_threshold=None), as each transaction may run on another server
# connection.
def pooled():
    conns = [psycopg.connect(**POOLED, autocommit=True, prepare_threshold=None) for _ in range(3)]
    try:
        versions = []
        for i in range(30):
            c = conns[i % 3]
            versions.append(c.execute(
                "SELECT eventstore.append(%s, %s)",
                ("pooled-1", Jsonb([{"type": "Deposited", "data": {"amount": i}}]))).fetchone()[0])
        check("30 appends through transaction-mode pgbouncer, 3 clients",
              versions == list(range(1, 31)), versions[-3:])
        with conns[0].transaction():
            conns[0].execute("SELECT eventstore.append(%s, %s)",
                             ("pooled-2", Jsonb([{"type": "Opened", "data": {}}])))
            n = conns[0].execute("SELECT count(*) FROM eventstore.read_stream('pooled-2')").fetchone()[0]
        check("a transaction keeps one server connection through pgbouncer", n == 1, n)
    finally:
        for c in conns:
            c.close()


# 5. LISTEN needs a direct connection (a transaction pooler drops it); the
# wake-up comes after commits made through the pooler too.
def listen():
    with psycopg.connect(**DIRECT, autocommit=True) as listener:
        listener.execute("LISTEN eventstore")
        with psycopg.connect(**POOLED, autocommit=True, prepare_threshold=None) as writer:
            writer.execute("SELECT eventstore.append(%s, %s)", ("wake-1", Jsonb([{"type": "Opened", "data": {}}])))
        # psycopg 3.1's notifies() has no timeout: wait on the socket, then
        # let a statement deliver what arrived to the handler.
        got = []
        listener.add_notify_handler(got.append)
        for _ in range(20):
            if got:
                break
            select.select([listener.fileno()], [], [], 0.5)
            listener.execute("SELECT 1")
        check("a direct LISTEN connection is woken after an append through the pooler",
              len(got) >= 1 and got[0].channel == "eventstore", got)


for name, fn in [("jsonb parameters", jsonb_parameter), ("sqlstate", sqlstate), ("bigints", bigints),
                 ("pgbouncer", pooled), ("listen", listen)]:
    run(name, fn)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
