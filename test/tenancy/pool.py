"""tenancy behind pgbouncer in transaction mode (pool_size = 1: every client
runs on the same server connection), and tenant settings in connection
options. Prints "N passed, N failed"."""
import os
import sys

import psycopg

HOST = os.environ["PGHOST"]
PORT = int(os.environ["PGPORT"])
BOUNCER = int(os.environ["BOUNCER_PORT"])
POOLED = dict(host="127.0.0.1", port=BOUNCER, dbname="tenancy_pool", user="pool_app", prepare_threshold=None)
DIRECT = dict(host=HOST, port=PORT, dbname="tenancy_pool", user="pool_app")
A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"

passed = failed = 0


def check(what, ok, got=None):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok     {what}")
    else:
        failed += 1
        print(f"FAILED {what}: got {got!r}")


def sqlstate_of(fn):
    try:
        fn()
        return "ok"
    except psycopg.Error as e:
        return e.sqlstate or str(e).strip().splitlines()[0]


with psycopg.connect(host=HOST, port=PORT, dbname="tenancy_pool", user="postgres", autocommit=True) as admin:
    token_a = admin.execute("SELECT tenancy.issue_token(%s, '10 minutes')", (A,)).fetchone()[0]

# 1. Client X enters tenant A in its transaction; client Y, next on the same
#    server connection, has no tenant.
x = psycopg.connect(**POOLED)
y = psycopg.connect(**POOLED)
with x.transaction():
    pid_x = x.execute("SELECT pg_backend_pid()").fetchone()[0]
    x.execute("SELECT tenancy.enter_token(%s)", (token_a,))
    rows_x = [r[0] for r in x.execute("SELECT body FROM notes ORDER BY id")]
check("client X, inside its transaction, reads its tenant's rows", rows_x == ["a-note"], rows_x)
try:
    with y.transaction():
        pid_y = y.execute("SELECT pg_backend_pid()").fetchone()[0]
        current_y = y.execute("SELECT tenancy.current()").fetchone()[0]
        y.execute("SELECT body FROM notes")
        state_y = "ok"
except psycopg.Error as e:
    state_y = e.sqlstate
check("client Y runs on the same server connection as X", pid_y == pid_x, (pid_x, pid_y))
check("client Y starts without a tenant", current_y is None, current_y)
check("client Y reading a protected table gets KB401, not X's rows", state_y == "KB401", state_y)

# 2. A session-level SET by X cannot plant a tenant for Y; the textbook's
#    app.tenant_id can, and leaks (reproduced on its own table).
x.autocommit = True
state = sqlstate_of(lambda: x.execute(f"SET tenancy.tenant_id = '{A}'"))
check("SET tenancy.tenant_id through the pool is KB402", state == "KB402", state)
state = sqlstate_of(lambda: x.execute("SELECT set_config('tenancy.tenant_id', %s, false)", (B,)))
check("set_config(tenancy.tenant_id) through the pool is KB402", state == "KB402", state)
x.execute(f"SET app.tenant_id = '{A}'")
y.autocommit = True
leaked = [r[0] for r in y.execute("SELECT body FROM textbook_notes")]
check("the textbook's session SET leaks to the next client (reproduced)", leaked == ["a-note"], leaked)
x.execute("RESET app.tenant_id")

# 3. Many clients, interleaved transactions on one server connection: each
#    sees its own tenant only.
tokens = {}
with psycopg.connect(host=HOST, port=PORT, dbname="tenancy_pool", user="postgres", autocommit=True) as admin:
    for t in (A, B):
        tokens[t] = admin.execute("SELECT tenancy.issue_token(%s, '10 minutes')", (t,)).fetchone()[0]
clients = [psycopg.connect(**POOLED) for _ in range(6)]
ok = True
seen = []
for round_ in range(30):
    c = clients[round_ % len(clients)]
    t = A if round_ % 3 else B
    with c.transaction():
        c.execute("SELECT tenancy.enter_token(%s)", (tokens[t],))
        got = sorted({r[0] for r in c.execute("SELECT tenant_id::text FROM notes")})
    if got != [t]:
        ok = False
        seen.append((round_, t, got))
    c2 = clients[(round_ + 1) % len(clients)]
    with c2.transaction():
        cur = c2.execute("SELECT tenancy.current()").fetchone()[0]
    if cur is not None:
        ok = False
        seen.append((round_, "carried", cur))
check("30 interleaved transactions of 6 clients: each saw its tenant, none inherited one", ok, seen[:3])
for c in clients + [x, y]:
    c.close()

# 4. Connection options cannot carry a tenant (direct connection: the
#    server refuses it at startup).
try:
    with psycopg.connect(**DIRECT, options=f"-c tenancy.tenant_id={A}") as c:
        got = c.execute("SELECT tenancy.current()").fetchone()[0]
    check("-c tenancy.tenant_id in connection options is refused", False, got)
except psycopg.OperationalError as e:
    msg = str(e)
    check("-c tenancy.tenant_id in connection options is refused",
          "tenancy.tenant_id can only be changed" in msg, msg)
os.environ["PGOPTIONS"] = f"-c tenancy.tenant_id={B}"
try:
    with psycopg.connect(**DIRECT) as c:
        check("PGOPTIONS with tenancy.tenant_id is refused", False, "connected")
except psycopg.OperationalError as e:
    check("PGOPTIONS with tenancy.tenant_id is refused", "tenancy.tenant_id can only be changed" in str(e), str(e))
finally:
    del os.environ["PGOPTIONS"]

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
