// feed: the home feed's direct read path (see home_reader.hpp).
//
// Everything below the namespace's first half is plain C run under one
// guard per call (pg_boundary.hpp): no C++ object lives in there.
#include "home_reader.hpp"

#include <cstring>
#include <type_traits>

#include "layout.hpp"
#include "pg_boundary.hpp"
#include "relation.hpp"
#include "tables.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/visibilitymap.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "optimizer/optimizer.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"
#include "utils/timestamp.h"
}

namespace casebook::feed {
namespace {

enum Table { kUsers, kActivity, kFollows, kPosts, kTimelines, kCursorKey, kTables };
enum Index { kUsersPkey, kActivityPkey, kFollowsPkey, kFollowsPulled, kPostsPkey, kPostsPulled, kTimelinesPkey, kIndexes };
const char* const kTableNames[kTables] = {"users", "activity", "follows", "posts", "timelines", "cursor_key"};
const char* const kQualifiedNames[kTables] = {"feed.users", "feed.activity",  "feed.follows",
                                              "feed.posts", "feed.timelines", "feed.cursor_key"};
// What each table must look like for these reads (tables.hpp): the columns
// and their types, and the indexes read with their key columns, order,
// operator classes and predicates (entries are read without their rows).
const char* const kTableLayouts[kTables] = {kUsersLayout, kActivityLayout,  kFollowsLayout,
                                            kPostsLayout, kTimelinesLayout, kCursorKeyLayout};
const char* const kIndexNames[kIndexes] = {"users_pkey",   "activity_pkey",     "follows_pkey",  "follows_pulled_idx",
                                           "posts_pkey",   "posts_pulled_idx",  "timelines_pkey"};
const Table kIndexTable[kIndexes] = {kUsers, kActivity, kFollows, kFollows, kPosts, kPosts, kTimelines};

// Columns read, by table.
enum Column {
    kUsersId,
    kUsersDormant,
    kActivityUser,
    kActivitySeen,
    kFollowsFollower,
    kFollowsFollowee,
    kFollowsPulledCol,
    kPostsId,
    kPostsAuthor,
    kPostsContent,
    kPostsCreated,
    kPostsFanned,
    kPostsDeleted,
    kTimelinesUser,
    kTimelinesCreated,
    kTimelinesPost,
    kTimelinesAuthor,
    kKeyKey,
    kColumns
};
struct ColumnSpec {
    Table table;
    const char* name;
};
const ColumnSpec kColumnSpecs[kColumns] = {
    {kUsers, "id"},           {kUsers, "dormant"},        {kActivity, "user_id"},      {kActivity, "last_seen_at"},
    {kFollows, "follower_id"}, {kFollows, "followee_id"}, {kFollows, "pulled"},        {kPosts, "id"},
    {kPosts, "author_id"},    {kPosts, "content"},        {kPosts, "created_at"},      {kPosts, "fanned_out"},
    {kPosts, "deleted_at"},   {kTimelines, "user_id"},    {kTimelines, "created_at"},  {kTimelines, "post_id"},
    {kTimelines, "author_id"}, {kCursorKey, "key"},
};

// The resolved layout, cached per backend until a relcache invalidation
// names one of its relations (or all of them).
struct Layout {
    bool usable;
    Oid table[kTables];
    Oid index[kIndexes];
    AttrNumber att[kColumns];
};
Layout g_layout;
bool g_layout_valid = false;

void on_relcache(Datum, Oid relid) {
    if (!g_layout_valid) return;
    if (!OidIsValid(relid)) {
        g_layout_valid = false;
        return;
    }
    for (Oid t : g_layout.table)
        if (t == relid) g_layout_valid = false;
    for (Oid i : g_layout.index)
        if (i == relid) g_layout_valid = false;
}

void resolve(Layout* l) {
    memset(l, 0, sizeof *l);
    Oid ns = get_namespace_oid("feed", true);
    if (!OidIsValid(ns)) return;
    for (int t = 0; t < kTables; t++) {
        l->table[t] = get_relname_relid(kTableNames[t], ns);
        if (!OidIsValid(l->table[t]) || get_rel_relkind(l->table[t]) != RELKIND_RELATION) return;
    }
    for (int c = 0; c < kColumns; c++) {
        Oid rel = l->table[kColumnSpecs[c].table];
        l->att[c] = get_attnum(rel, kColumnSpecs[c].name);
        if (l->att[c] == InvalidAttrNumber) return;
    }
    // Their shapes are checked with the tables' layouts, once the tables
    // are locked (open_state).
    for (int i = 0; i < kIndexes; i++) {
        l->index[i] = get_relname_relid(kIndexNames[i], ns);
        if (!OidIsValid(l->index[i]) || get_rel_relkind(l->index[i]) != RELKIND_INDEX) return;
    }
    l->usable = true;
}

// One source of the merge: a backward scan of the timeline or of a pulled
// author's posts, below a (created_at, post_id) key.
struct Src {
    IndexScanDesc scan;
    bool timeline;
    bool has_below;
    TimestampTz below_c;
    int64 below_p;
    bool done;
    ScanKeyData keys[2];
};

// Visibility map pages kept pinned per table, by map page number modulo
// this; and heap pages one map page covers (as visibilitymap.c computes it;
// were it different, pins would only be swapped more often).
constexpr int kVmPins = 8;
constexpr BlockNumber kHeapBlocksPerMapPage =
    (BLCKSZ - MAXALIGN(SizeOfPageHeaderData)) * (BITS_PER_BYTE / BITS_PER_HEAPBLOCK);

}  // namespace

struct HomeReader::State {
    Relation table[kTables];
    Relation index[kIndexes];
    TupleTableSlot* slot[kTables];
    IndexScanDesc probe[kIndexes][2];  // reused lookups by index and key count (rescanned)
    Buffer vm[kTables][kVmPins];       // visibility map pages, for index-only reads
    IndexFetchTableData* post_fetch;   // posts fetched where a hint says they are
    BlockNumber post_blocks;           // the posts table's size, read once (InvalidBlockNumber: not yet)
    Snapshot snapshot;
    Layout layout;
    Src* src;
    int nsrc;
    int cap;
    // The user's followees, read once from the follows key (sorted), when
    // there are at most kFolloweesRead; more: each author is probed.
    bool followees_read;
    bool followees_complete;
    int64* followees;
    int nfollowees;
    // Where the scans allocate (the backend's scan context, or the caller's
    // when a reader is already open), and whether this reader holds it.
    MemoryContext cxt;
    bool owns_cxt;
};

namespace {

using State = HomeReader::State;

AttrNumber att(const State* s, Column c) { return s->layout.att[c]; }

void close_all(State* s) {
    for (int i = 0; i < s->nsrc; i++)
        if (!s->src[i].done) {
            index_endscan(s->src[i].scan);
            s->src[i].done = true;
        }
    for (int i = 0; i < kIndexes; i++)
        for (int k = 0; k < 2; k++)
            if (s->probe[i][k]) {
                index_endscan(s->probe[i][k]);
                s->probe[i][k] = nullptr;
            }
    for (int t = 0; t < kTables; t++)
        if (s->slot[t]) {
            ExecDropSingleTupleTableSlot(s->slot[t]);
            s->slot[t] = nullptr;
        }
    if (s->post_fetch) {
        table_index_fetch_end(s->post_fetch);
        s->post_fetch = nullptr;
    }
    for (int t = 0; t < kTables; t++)
        for (int v = 0; v < kVmPins; v++)
            if (s->vm[t][v] != InvalidBuffer) {
                ReleaseBuffer(s->vm[t][v]);
                s->vm[t][v] = InvalidBuffer;
            }
    if (s->snapshot) {
        UnregisterSnapshot(s->snapshot);
        s->snapshot = nullptr;
    }
    // As a statement's: the locks stay until the transaction ends.
    for (int i = 0; i < kIndexes; i++)
        if (s->index[i]) {
            index_close(s->index[i], NoLock);
            s->index[i] = nullptr;
        }
    for (int t = 0; t < kTables; t++)
        if (s->table[t]) {
            table_close(s->table[t], NoLock);
            s->table[t] = nullptr;
        }
}

// Plain C under one guard. Returns the state, or nullptr when the layout is
// not usable (nothing left open).
State* open_state() {
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!g_layout_valid) {
            resolve(&g_layout);
            // Kept only when usable: a layout that is not (a missing index,
            // say) is looked at again on the next call, as the relation that
            // would fix it need not be one whose invalidation we watch.
            g_layout_valid = g_layout.usable;
        }
        if (!g_layout.usable) return nullptr;
        auto* s = static_cast<State*>(palloc0(sizeof(State)));
        for (int t = 0; t < kTables; t++)
            for (int v = 0; v < kVmPins; v++) s->vm[t][v] = InvalidBuffer;
        s->post_blocks = InvalidBlockNumber;
        s->layout = g_layout;
        // A table dropped meanwhile (DROP EXTENSION, perhaps followed by a
        // new CREATE) has sent an invalidation that taking its lock took in:
        // resolve the names again; 42P01 when nothing explains it.
        bool gone = false;
        for (int t = 0; t < kTables && !gone; t++) {
            s->table[t] = try_table_open(s->layout.table[t], AccessShareLock);
            gone = s->table[t] == nullptr;
            if (gone && g_layout_valid) pg::open_table(s->layout.table[t], AccessShareLock, kQualifiedNames[t]);
        }
        // Taking the locks processed pending invalidations: a layout changed
        // meanwhile is resolved again.
        if (gone || !g_layout_valid) {
            close_all(s);
            pfree(s);
            continue;
        }
        // Only on the layout the extension created (core/layout.hpp, for a
        // read): other column types, changed indexes or row security send
        // home() to SQL, which honours them.
        bool usable = true;
        for (int t = 0; usable && t < kTables; t++)
            usable = pg::layout::matches(s->table[t], kTableLayouts[t], pg::layout::Use::read);
        for (int t = 0; usable && t < kTables; t++) {
            Oid relid = s->layout.table[t];
            AclResult acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
            if (acl != ACLCHECK_OK) aclcheck_error(acl, OBJECT_TABLE, get_rel_name(relid));
        }
        // The indexes last: the layouts say they are still the ones named.
        for (int i = 0; usable && i < kIndexes; i++)
            s->index[i] = pg::open_index(s->layout.index[i], AccessShareLock, kIndexNames[i]);
        if (!usable) {
            close_all(s);
            pfree(s);
            return nullptr;
        }
        s->snapshot = RegisterSnapshot(GetActiveSnapshot());
        for (int t = 0; t < kTables; t++) s->slot[t] = table_slot_create(s->table[t], nullptr);
        return s;
    }
    return nullptr;
}

// The next index entry whose row the snapshot sees, read from the index
// alone (scan->xs_itup) as an index-only scan does: when the visibility map
// says the row's heap page is all-visible the heap is not visited (the page
// is predicate-locked instead, for serializable transactions); otherwise
// the row is fetched to decide.
bool next_visible(State* s, Table t, IndexScanDesc scan, ScanDirection dir) {
    ItemPointer tid;
    while ((tid = index_getnext_tid(scan, dir)) != nullptr) {
        BlockNumber block = ItemPointerGetBlockNumber(tid);
        // One pinned map page per slot: a large table's entries for one
        // user spread over several map pages, re-read on every switch with
        // a single pin.
        Buffer* vm = &s->vm[t][(block / kHeapBlocksPerMapPage) % kVmPins];
        if (VM_ALL_VISIBLE(s->table[t], block, vm)) {
            PredicateLockPage(s->table[t], block, s->snapshot);
            return true;
        }
        if (index_fetch_heap(scan, s->slot[t])) return true;
    }
    return false;
}

IndexScanDesc rescan(State* s, Index i, int nkeys, const int64* values, bool index_only) {
    ScanKeyData keys[2];
    for (int k = 0; k < nkeys; k++) ScanKeyInit(&keys[k], k + 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(values[k]));
    Table t = kIndexTable[i];
    // A scan's key count is fixed when it begins.
    IndexScanDesc& scan = s->probe[i][nkeys - 1];
    if (!scan) scan = index_beginscan(s->table[t], s->index[i], s->snapshot, nkeys, 0);
    scan->xs_want_itup = index_only;
    index_rescan(scan, keys, nkeys, nullptr, 0);
    return scan;
}

// A point lookup through a unique index: the visible row matching the keys
// (all equality), in the table's slot.
bool probe(State* s, Index i, int nkeys, const int64* values) {
    IndexScanDesc scan = rescan(s, i, nkeys, values, false);
    return index_getnext_slot(scan, ForwardScanDirection, s->slot[kIndexTable[i]]);
}

// Whether a visible row matches, from the index where it can.
bool exists(State* s, Index i, int nkeys, const int64* values) {
    IndexScanDesc scan = rescan(s, i, nkeys, values, true);
    return next_visible(s, kIndexTable[i], scan, ForwardScanDirection);
}

struct UserArgs {
    int64 user;
    int inactive_after_s;
    HomeUser* out;
};

void read_user(State* s, UserArgs* a) {
    a->out->exists = probe(s, kUsersPkey, 1, &a->user);
    if (a->out->exists) {
        bool isnull = false;
        Datum dormant = slot_getattr(s->slot[kUsers], att(s, kUsersDormant), &isnull);
        a->out->inactive = !isnull && DatumGetBool(dormant);
    }
    if (probe(s, kActivityPkey, 1, &a->user)) {
        bool isnull = false;
        Datum seen = slot_getattr(s->slot[kActivity], att(s, kActivitySeen), &isnull);
        if (!isnull) {
            TimestampTz last = DatumGetTimestampTz(seen);
            TimestampTz now = GetCurrentTransactionStartTimestamp();  // SQL's now()
            int64 after = static_cast<int64>(a->inactive_after_s) * USECS_PER_SEC;
            int64 touch_every = after / 2 < USECS_PER_HOUR ? after / 2 : USECS_PER_HOUR;
            a->out->touch = last < now - touch_every;
        } else {
            a->out->touch = true;
        }
    } else {
        a->out->touch = true;  // never seen: counts as active
    }
    TableScanDesc scan = table_beginscan(s->table[kCursorKey], s->snapshot, 0, nullptr);
    TupleTableSlot* slot = s->slot[kCursorKey];
    int rows = 0;
    while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
        rows++;
        bool isnull = false;
        Datum k = slot_getattr(slot, att(s, kKeyKey), &isnull);
        if (isnull) continue;
        bytea* b = DatumGetByteaPP(k);
        if (VARSIZE_ANY_EXHDR(b) != a->out->key.size()) continue;
        memcpy(a->out->key.data(), VARDATA_ANY(b), a->out->key.size());
        a->out->have_key = true;
    }
    table_endscan(scan);
    if (rows != 1) a->out->have_key = false;
}

struct PulledArgs {
    int64 user;
    int64* out;  // room for max
    int max;
    int n;
    bool more;  // more than max: call again with more room
};

void read_pulled(State* s, PulledArgs* a) {
    // follows_pulled_idx holds the marked follows only (its predicate is
    // checked at resolve()): read from the index alone where it can.
    IndexScanDesc scan = rescan(s, kFollowsPulled, 1, &a->user, true);
    a->n = 0;
    a->more = false;
    while (next_visible(s, kFollows, scan, ForwardScanDirection)) {
        bool isnull = false;
        Datum followee = index_getattr(scan->xs_itup, 2, scan->xs_itupdesc, &isnull);
        if (isnull) continue;
        if (a->n == a->max) {
            a->more = true;
            break;
        }
        a->out[a->n++] = DatumGetInt64(followee);
    }
}

struct SourceArgs {
    int64 owner;  // user (timeline) or author (pulled)
    bool timeline;
    bool has_below;
    TimestampTz below_c;
    int64 below_p;
};

int add_source(State* s, const SourceArgs* a) {
    if (s->nsrc == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->src = static_cast<Src*>(s->src ? repalloc(s->src, sizeof(Src) * s->cap) : palloc(sizeof(Src) * s->cap));
    }
    Src* src = &s->src[s->nsrc];
    memset(src, 0, sizeof *src);
    src->timeline = a->timeline;
    src->has_below = a->has_below;
    src->below_c = a->below_c;
    src->below_p = a->below_p;
    Table t = a->timeline ? kTimelines : kPosts;
    Index i = a->timeline ? kTimelinesPkey : kPostsPulled;
    int nkeys = 1;
    ScanKeyInit(&src->keys[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(a->owner));
    if (a->has_below) {
        ScanKeyInit(&src->keys[1], 2, BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE, TimestampTzGetDatum(a->below_c));
        nkeys = 2;
    }
    src->scan = index_beginscan(s->table[t], s->index[i], s->snapshot, nkeys, 0);
    src->scan->xs_want_itup = true;  // the entries' columns are all in the key
    index_rescan(src->scan, src->keys, nkeys, nullptr, 0);
    return s->nsrc++;
}

struct NextArgs {
    int source;
    bool found;
    Entry* out;
};

void next_entry(State* s, NextArgs* a) {
    Src* src = &s->src[a->source];
    a->found = false;
    if (src->done) return;
    Table t = src->timeline ? kTimelines : kPosts;
    // Index columns: timeline (user_id, created_at, post_id), pulled posts
    // (author_id, created_at, id).
    while (next_visible(s, t, src->scan, BackwardScanDirection)) {
        IndexTuple itup = src->scan->xs_itup;
        TupleDesc desc = src->scan->xs_itupdesc;
        bool no = false, nc = false, np = false;
        int64 owner = DatumGetInt64(index_getattr(itup, 1, desc, &no));
        TimestampTz c = DatumGetTimestampTz(index_getattr(itup, 2, desc, &nc));
        int64 p = DatumGetInt64(index_getattr(itup, 3, desc, &np));
        if (no || nc || np) continue;
        if (src->has_below && c == src->below_c && p >= src->below_p) continue;  // at or above the cursor
        a->out->created_at = c;
        a->out->post_id = p;
        // A timeline entry's author is read with the post (read_posts).
        a->out->author_id = src->timeline ? 0 : owner;
        a->out->from_timeline = src->timeline;
        a->found = true;
        return;
    }
    // Exhausted: release the scan's pins now.
    index_endscan(src->scan);
    src->done = true;
}

struct PostsArgs {
    int64 user;
    const Entry* entries;
    int n;
    PostFacts* out;
    MemoryContext caller;  // where the contents are copied
};

// Followees read at once for the follow checks: a user following more is
// checked author by author.
constexpr int kFolloweesRead = 2048;

void read_followees(State* s, int64 user) {
    s->followees_read = true;
    s->followees = static_cast<int64*>(palloc(sizeof(int64) * kFolloweesRead));
    IndexScanDesc scan = rescan(s, kFollowsPkey, 1, &user, true);
    s->followees_complete = true;
    while (next_visible(s, kFollows, scan, ForwardScanDirection)) {
        if (s->nfollowees == kFolloweesRead) {
            s->followees_complete = false;
            break;
        }
        bool isnull = false;
        Datum followee = index_getattr(scan->xs_itup, 2, scan->xs_itupdesc, &isnull);
        if (!isnull) s->followees[s->nfollowees++] = DatumGetInt64(followee);  // in key order: sorted
    }
}

bool still_followed(State* s, int64 user, int64 author) {
    if (!s->followees_read) read_followees(s, user);
    if (s->followees_complete) {
        int lo = 0, hi = s->nfollowees;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (s->followees[mid] < author)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo < s->nfollowees && s->followees[lo] == author;
    }
    const int64 key[2] = {user, author};
    return exists(s, kFollowsPkey, 2, key);
}

// Where posts were found, per backend: a post's row is fetched at its
// remembered location instead of descending posts_pkey (20 descents a page
// were a third of a call). A hint is only a guess, checked in full: the row
// there must be one the snapshot sees (the HOT chain from that location is
// followed, as an index entry's would be) and carry the post's id, of
// which at most one version is visible. A stale hint (the row moved by a
// non-HOT update, the table rewritten, the slot reused) fails the check and
// the lookup goes through the index, which renews it. Direct-mapped by id.
struct PostHint {
    int64 post_id;
    ItemPointerData tid;  // the root of the row's HOT chain, as posts_pkey has it
};
constexpr int kPostHintBits = 16;
constexpr int kPostHints = 1 << kPostHintBits;  // 1 MB per backend, allocated on first use
PostHint* g_post_hints = nullptr;
Oid g_post_hints_file = InvalidOid;  // the posts table's file the hints point into

// Before a call's lookups: the table allocated, and emptied if the posts
// table was rewritten since (every hint would be stale).
void prepare_hints(State* s) {
    Oid file = s->table[kPosts]->rd_node.relNode;
    if (!g_post_hints)
        g_post_hints = static_cast<PostHint*>(MemoryContextAllocZero(TopMemoryContext, sizeof(PostHint) * kPostHints));
    else if (g_post_hints_file != file)
        memset(g_post_hints, 0, sizeof(PostHint) * kPostHints);
    g_post_hints_file = file;
}

// The post's row the snapshot sees, in the posts slot: at its hinted
// location, else through posts_pkey.
bool fetch_post(State* s, int64 post_id) {
    TupleTableSlot* slot = s->slot[kPosts];
    uint64 h = static_cast<uint64>(post_id) * UINT64CONST(0x9E3779B97F4A7C15);
    PostHint* hint = &g_post_hints[h >> (64 - kPostHintBits)];
    if (hint->post_id == post_id && ItemPointerIsValid(&hint->tid)) {
        // The size read once: held by our lock, the table cannot shrink
        // (a truncating vacuum needs an exclusive lock).
        if (s->post_blocks == InvalidBlockNumber) s->post_blocks = RelationGetNumberOfBlocks(s->table[kPosts]);
        if (ItemPointerGetBlockNumber(&hint->tid) < s->post_blocks) {
            if (!s->post_fetch) s->post_fetch = table_index_fetch_begin(s->table[kPosts]);
            ItemPointerData tid = hint->tid;
            bool call_again = false, all_dead = false;
            if (table_index_fetch_tuple(s->post_fetch, &tid, s->snapshot, slot, &call_again, &all_dead)) {
                bool isnull = false;
                Datum id = slot_getattr(slot, att(s, kPostsId), &isnull);
                if (!isnull && DatumGetInt64(id) == post_id) return true;
            }
        }
        hint->post_id = 0;
        ItemPointerSetInvalid(&hint->tid);
    }
    if (!probe(s, kPostsPkey, 1, &post_id)) return false;
    // The row's location is a chain's root unless it is a heap-only tuple
    // (updated in place, e.g. deleted): those are not remembered.
    bool free_tuple = false;
    HeapTuple tuple = ExecFetchSlotHeapTuple(slot, false, &free_tuple);
    if (!HeapTupleIsHeapOnly(tuple)) {
        hint->post_id = post_id;
        hint->tid = tuple->t_self;
    }
    if (free_tuple) heap_freetuple(tuple);
    return true;
}

void read_posts(State* s, PostsArgs* a) {
    prepare_hints(s);
    TupleTableSlot* slot = s->slot[kPosts];
    for (int i = 0; i < a->n; i++) {
        const Entry& e = a->entries[i];
        PostFacts& f = a->out[i];
        f.live = false;
        f.content = 0;
        f.author_id = 0;
        if (!fetch_post(s, e.post_id)) continue;
        bool nd = false, nc = false, na = false, nf = false;
        slot_getattr(slot, att(s, kPostsDeleted), &nd);
        if (!nd) continue;  // deleted
        int64 author = DatumGetInt64(slot_getattr(slot, att(s, kPostsAuthor), &na));
        bool fanned = DatumGetBool(slot_getattr(slot, att(s, kPostsFanned), &nf));
        Datum content = slot_getattr(slot, att(s, kPostsContent), &nc);
        if (na || nf || nc) continue;
        // A pulled entry is a post not fanned out (posts_pulled_idx's
        // predicate, rechecked).
        if (!e.from_timeline && fanned) continue;
        f.author_id = author;
        // A copy in the caller's context: the row's buffer is released by
        // the next lookup, and the scan context is reset by close().
        MemoryContext scan_cxt = MemoryContextSwitchTo(a->caller);
        f.content = PointerGetDatum(pg_detoast_datum_copy(reinterpret_cast<struct varlena*>(DatumGetPointer(content))));
        MemoryContextSwitchTo(scan_cxt);
        // Pulled entries come from the user's follows.
        f.live = !e.from_timeline || still_followed(s, a->user, author);
    }
}

// The scans' memory. A btree scan allocates some 27 kB (43 kB reading
// entries from the index alone) in chunks above a standard context's
// chunk limit, each a malloc of its own: a call beginning a dozen scans and
// ending them freed that much at the top of the heap, which glibc gave back
// to the kernel and took again on the next call (brk shrink and grow, page
// faults, TLB shootdowns: a fifth of a call's time, varying from backend
// to backend with the heap's layout). One generation context per backend,
// kept across calls, carves those chunks from blocks it keeps: its first
// block (1 MB) is never freed, and close() resets it to that block.
constexpr Size kScanContextKeep = 1024 * 1024;
MemoryContext g_scan_cxt = nullptr;
bool g_scan_busy = false;  // a reader holds g_scan_cxt

// Transaction end: a reader abandoned by an error (the C++ frames unwound
// without close(); the abort released its buffers, snapshot and relations)
// leaves its memory behind, emptied here.
void release_scan_memory() {
    if (g_scan_busy) {
        MemoryContextReset(g_scan_cxt);
        g_scan_busy = false;
    }
}

extern "C" void feed_reader_on_xact(XactEvent event, void*) {
    if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_COMMIT ||
        event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PREPARE)
        release_scan_memory();
}

extern "C" void feed_reader_on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
    // home() runs no subtransaction while its reader is open: a
    // subtransaction aborting with the reader held is the one home() ran in.
    if (event == SUBXACT_EVENT_ABORT_SUB) release_scan_memory();
}

// Runs body with the reader's scan context current.
template <typename F>
auto in_scan_context(State* s, F&& body) {
    return pg::guard([&] {
        MemoryContext caller = MemoryContextSwitchTo(s->cxt);
        if constexpr (std::is_void_v<decltype(body())>) {
            body();
            MemoryContextSwitchTo(caller);
        } else {
            auto r = body();
            MemoryContextSwitchTo(caller);
            return r;
        }
    });
}

State* open_reader() {
    if (!g_scan_cxt)
        g_scan_cxt = GenerationContextCreate(TopMemoryContext, "feed home scans", kScanContextKeep, kScanContextKeep,
                                             8 * kScanContextKeep);
    // A reader already open (not done by home(), which opens one at a
    // time): this one allocates in the caller's context.
    bool owns = !g_scan_busy;
    MemoryContext cxt = owns ? g_scan_cxt : CurrentMemoryContext;
    if (owns) g_scan_busy = true;
    MemoryContext caller = MemoryContextSwitchTo(cxt);
    State* s = open_state();
    MemoryContextSwitchTo(caller);
    if (s) {
        s->cxt = cxt;
        s->owns_cxt = owns;
    } else if (owns) {
        MemoryContextReset(g_scan_cxt);
        g_scan_busy = false;
    }
    return s;
}

void close_reader(State* s) {
    MemoryContext caller = MemoryContextSwitchTo(s->cxt);
    close_all(s);
    MemoryContextSwitchTo(caller);
    if (s->owns_cxt) {
        MemoryContextReset(g_scan_cxt);
        g_scan_busy = false;
    } else {
        pfree(s);
    }
}

}  // namespace

bool HomeReader::open() {
    state_ = pg::guard([] { return open_reader(); });
    return state_ != nullptr;
}

HomeUser HomeReader::user(int64_t user_id, int inactive_after_s) {
    HomeUser out;
    UserArgs a{user_id, inactive_after_s, &out};
    UserArgs* ap = &a;
    State* s = state_;
    in_scan_context(s, [&] { read_user(s, ap); });
    return out;
}

std::vector<int64_t> HomeReader::pulled_followees(int64_t user_id) {
    std::vector<int64_t> ids(16);
    for (;;) {
        PulledArgs a{user_id, ids.data(), static_cast<int>(ids.size()), 0, false};
        PulledArgs* ap = &a;
        State* s = state_;
        in_scan_context(s, [&] { read_pulled(s, ap); });
        if (!a.more) {
            ids.resize(static_cast<std::size_t>(a.n));
            return ids;
        }
        ids.resize(ids.size() * 4);
    }
}

int HomeReader::add_timeline(int64_t user_id, const Entry& below) {
    SourceArgs a{user_id, true, below.created_at != DT_NOEND, below.created_at, below.post_id};
    const SourceArgs* ap = &a;
    State* s = state_;
    return in_scan_context(s, [&] { return add_source(s, ap); });
}

int HomeReader::add_pulled(int64_t author_id, const Entry& below) {
    SourceArgs a{author_id, false, below.created_at != DT_NOEND, below.created_at, below.post_id};
    const SourceArgs* ap = &a;
    State* s = state_;
    return in_scan_context(s, [&] { return add_source(s, ap); });
}

std::optional<Entry> HomeReader::next(int source) {
    Entry e{};
    NextArgs a{source, false, &e};
    NextArgs* ap = &a;
    State* s = state_;
    in_scan_context(s, [&] { next_entry(s, ap); });
    if (!a.found) return std::nullopt;
    return e;
}

void HomeReader::posts(int64_t user_id, const std::vector<Entry>& entries, std::vector<PostFacts>& out) {
    out.assign(entries.size(), PostFacts{});
    // The contents are copied where the caller allocates.
    PostsArgs a{user_id, entries.data(), static_cast<int>(entries.size()), out.data(), CurrentMemoryContext};
    PostsArgs* ap = &a;
    State* s = state_;
    in_scan_context(s, [&] { read_posts(s, ap); });
}

void HomeReader::close() {
    if (!state_) return;
    State* s = state_;
    state_ = nullptr;
    pg::guard([&] { close_reader(s); });
}

void install_reader_callback() {
    pg::guard([] {
        CacheRegisterRelcacheCallback(on_relcache, 0);
        RegisterXactCallback(feed_reader_on_xact, nullptr);
        RegisterSubXactCallback(feed_reader_on_subxact, nullptr);
    });
}

}  // namespace casebook::feed
