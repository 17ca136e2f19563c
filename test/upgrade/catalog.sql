-- Describes every object of one extension, one fact per line, sorted, with no
-- OID in it: two databases whose extension was reached by different paths
-- (a fresh CREATE EXTENSION, an ALTER EXTENSION ... UPDATE chain) must print
-- the same lines. Used by test/upgrade/run.sh; psql -v ext=<name>.
--
-- Covered: the extension (version, schema, required extensions, the tables
-- registered with pg_extension_config_dump and their conditions), its
-- members (pg_depend deptype 'e'), and, for everything in its schema whether
-- a member or not: relations (kind, persistence, access method, options, row
-- security, replica identity, partitioning, owner, grants, comment), columns
-- (position including dropped ones, type, NOT NULL, default, identity,
-- generated, collation, storage, compression, options, grants, comment),
-- constraints, indexes, triggers with their enabled state, rules, policies,
-- view definitions, sequences and their owning column, statistics objects,
-- functions and procedures (the whole definition: body or C symbol,
-- language, volatility, strictness, SECURITY DEFINER, parallel safety, cost,
-- SET options; plus owner, grants, comment), types (enum labels in order,
-- domains, composites, grants, comment), the schema (owner, grants,
-- comment), and the extension's event triggers (event, tags, function,
-- enabled state). Internal triggers (foreign keys, deferred uniqueness) are
-- left out: their names carry OIDs, and the constraints that made them are
-- compared.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset footer off

WITH
ext AS (
    SELECT e.oid, e.extname, e.extversion, e.extrelocatable, e.extnamespace, e.extconfig, e.extcondition
      FROM pg_catalog.pg_extension e WHERE e.extname = :'ext'
),
members AS (
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_catalog.pg_depend d, ext
     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
),
-- Sorted grants: the same privileges granted in another order are equal.
-- NULL (the built-in default) is kept apart from an explicit list.
rels AS (
    SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.reloptions, c.relrowsecurity,
           c.relforcerowsecurity, c.relreplident, c.relispartition, c.relacl, c.relowner,
           c.reltablespace, c.relam,
           EXISTS (SELECT 1 FROM members m WHERE m.classid = 'pg_catalog.pg_class'::regclass AND m.objid = c.oid) AS member
      FROM pg_catalog.pg_class c, ext
     WHERE c.relnamespace = ext.extnamespace
),
procs AS (
    SELECT p.oid, p.oid::regprocedure::text AS sig, p.prokind, p.proacl, p.proowner,
           EXISTS (SELECT 1 FROM members m WHERE m.classid = 'pg_catalog.pg_proc'::regclass AND m.objid = p.oid) AS member
      FROM pg_catalog.pg_proc p, ext
     WHERE p.pronamespace = ext.extnamespace
),
types AS (
    SELECT t.oid, t.oid::regtype::text AS name, t.typtype, t.typacl, t.typowner, t.typrelid, t.typbasetype,
           t.typnotnull, t.typdefaultbin, t.typcollation,
           EXISTS (SELECT 1 FROM members m WHERE m.classid = 'pg_catalog.pg_type'::regclass AND m.objid = t.oid) AS member
      FROM pg_catalog.pg_type t, ext
     WHERE t.typnamespace = ext.extnamespace
       -- array types follow their element; a table's row type follows the table
       AND t.typcategory <> 'A'
       AND (t.typrelid = 0 OR (SELECT r.relkind FROM pg_catalog.pg_class r WHERE r.oid = t.typrelid) = 'c')
),
lines(k1, k2, k3, line) AS (
    -- the extension
    SELECT 'a extension', '', 0,
           pg_catalog.format('extension %s version=%s relocatable=%s schema=%s', extname, extversion,
                             extrelocatable, extnamespace::regnamespace)
      FROM ext
    UNION ALL
    SELECT 'a extension', 'requires', 0, 'requires extension ' || r.extname
      FROM ext, pg_catalog.pg_depend d JOIN pg_catalog.pg_extension r ON r.oid = d.refobjid
     WHERE d.classid = 'pg_catalog.pg_extension'::regclass AND d.objid = ext.oid
       AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'n'
    UNION ALL
    SELECT 'a extension', 'config', 0,
           pg_catalog.format('pg_dump keeps the rows of %s where %L', cfg.rel::regclass, cfg.cond)
      FROM ext, unnest(ext.extconfig, ext.extcondition) AS cfg(rel, cond)
    -- membership
    UNION ALL
    SELECT 'b member', o.type || ' ' || o.identity, 0, 'member ' || o.type || ' ' || o.identity
      FROM members m, pg_catalog.pg_identify_object(m.classid, m.objid, m.objsubid) o
    -- schema
    UNION ALL
    SELECT 'c schema', n.nspname, 0,
           pg_catalog.format('schema %s owner=%s acl=%s comment=%L', n.nspname, n.nspowner::regrole,
                             (SELECT array_agg(x ORDER BY x::text) FROM unnest(n.nspacl) x),
                             pg_catalog.obj_description(n.oid, 'pg_namespace'))
      FROM ext JOIN pg_catalog.pg_namespace n ON n.oid = ext.extnamespace
    -- relations
    UNION ALL
    SELECT 'd relation', r.relname, 0,
           pg_catalog.format('relation %s member=%s kind=%s persistence=%s am=%s tablespace=%s options=%s '
                             'rowsecurity=%s force=%s replident=%s partition=%s partkey=%s owner=%s acl=%s comment=%L',
                             r.relname, r.member, r.relkind, r.relpersistence,
                             (SELECT a.amname FROM pg_catalog.pg_am a WHERE a.oid = r.relam),
                             (SELECT t.spcname FROM pg_catalog.pg_tablespace t WHERE t.oid = r.reltablespace),
                             r.reloptions, r.relrowsecurity, r.relforcerowsecurity, r.relreplident,
                             r.relispartition,
                             CASE WHEN r.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(r.oid) END,
                             r.relowner::regrole,
                             (SELECT array_agg(x ORDER BY x::text) FROM unnest(r.relacl) x),
                             pg_catalog.obj_description(r.oid, 'pg_class'))
      FROM rels r
    UNION ALL
    SELECT 'd relation', r.relname, 1,
           pg_catalog.format('relation %s partition of %s for %s', r.relname, i.inhparent::regclass,
                             pg_catalog.pg_get_expr(c.relpartbound, c.oid))
      FROM rels r JOIN pg_catalog.pg_inherits i ON i.inhrelid = r.oid
      JOIN pg_catalog.pg_class c ON c.oid = r.oid
    -- columns, by physical position (a column dropped and added again, or
    -- added last by an upgrade where a fresh install has it elsewhere, shows)
    UNION ALL
    SELECT 'e column', r.relname, a.attnum,
           CASE WHEN a.attisdropped THEN pg_catalog.format('column %s.%s dropped', r.relname, a.attnum)
           ELSE pg_catalog.format('column %s.%s %s type=%s notnull=%s default=%s identity=%s generated=%s '
                                  'collation=%s storage=%s compression=%s stattarget=%s options=%s acl=%s comment=%L',
                                  r.relname, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
                                  a.attnotnull, pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attidentity,
                                  a.attgenerated,
                                  (SELECT co.collname FROM pg_catalog.pg_collation co
                                    WHERE co.oid = a.attcollation AND a.attcollation <> 0),
                                  a.attstorage, a.attcompression, a.attstattarget,
                                  -- (pg_attver: a per-column counter newer 15.x releases
                                  -- keep in attoptions, different in every database)
                                  (SELECT array_agg(o ORDER BY o) FROM unnest(a.attoptions) o
                                    WHERE o NOT LIKE 'pg\_attver=%'),
                                  (SELECT array_agg(x ORDER BY x::text) FROM unnest(a.attacl) x),
                                  pg_catalog.col_description(r.oid, a.attnum))
           END
      FROM rels r
      JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
    -- constraints of tables and domains
    UNION ALL
    SELECT 'f constraint', coalesce(r.relname, t.typname) || '.' || c.conname, 0,
           pg_catalog.format('constraint %s on %s type=%s deferrable=%s deferred=%s validated=%s local=%s '
                             'noinherit=%s def=%s comment=%L',
                             c.conname, coalesce(r.relname, t.typname::text), c.contype, c.condeferrable,
                             c.condeferred, c.convalidated, c.conislocal, c.connoinherit,
                             pg_catalog.pg_get_constraintdef(c.oid),
                             pg_catalog.obj_description(c.oid, 'pg_constraint'))
      FROM pg_catalog.pg_constraint c
      LEFT JOIN rels r ON r.oid = c.conrelid
      LEFT JOIN pg_catalog.pg_type t ON t.oid = c.contypid
      , ext
     WHERE c.connamespace = ext.extnamespace
    -- indexes
    UNION ALL
    SELECT 'g index', x.indexrelid::regclass::text, 0,
           pg_catalog.format('index %s on %s unique=%s primary=%s exclusion=%s immediate=%s clustered=%s '
                             'replident=%s valid=%s nullsnotdistinct=%s def=%s',
                             x.indexrelid::regclass, r.relname, x.indisunique, x.indisprimary, x.indisexclusion,
                             x.indimmediate, x.indisclustered, x.indisreplident, x.indisvalid,
                             x.indnullsnotdistinct, pg_catalog.pg_get_indexdef(x.indexrelid))
      FROM rels r JOIN pg_catalog.pg_index x ON x.indrelid = r.oid
    -- triggers (not internal ones)
    UNION ALL
    SELECT 'h trigger', r.relname || '.' || g.tgname, 0,
           pg_catalog.format('trigger %s on %s enabled=%s def=%s comment=%L', g.tgname, r.relname, g.tgenabled,
                             pg_catalog.pg_get_triggerdef(g.oid),
                             pg_catalog.obj_description(g.oid, 'pg_trigger'))
      FROM rels r JOIN pg_catalog.pg_trigger g ON g.tgrelid = r.oid
     WHERE NOT g.tgisinternal
    -- rules (a view's own _RETURN rule is its definition, below)
    UNION ALL
    SELECT 'i rule', r.relname || '.' || w.rulename, 0,
           pg_catalog.format('rule %s on %s enabled=%s def=%s', w.rulename, r.relname, w.ev_enabled,
                             pg_catalog.pg_get_ruledef(w.oid))
      FROM rels r JOIN pg_catalog.pg_rewrite w ON w.ev_class = r.oid
     WHERE w.rulename <> '_RETURN'
    -- row security policies
    UNION ALL
    SELECT 'j policy', r.relname || '.' || p.polname, 0,
           pg_catalog.format('policy %s on %s cmd=%s permissive=%s roles=%s using=%s check=%s',
                             p.polname, r.relname, p.polcmd, p.polpermissive,
                             (SELECT array_agg(CASE WHEN x = 0 THEN 'public' ELSE x::regrole::text END ORDER BY 1)
                                FROM unnest(p.polroles) x),
                             pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                             pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
      FROM rels r JOIN pg_catalog.pg_policy p ON p.polrelid = r.oid
    -- view definitions, line by line
    UNION ALL
    SELECT 'k view', r.relname, d.n::integer, 'view ' || r.relname || ': ' || d.l
      FROM rels r, regexp_split_to_table(pg_catalog.pg_get_viewdef(r.oid, true), E'\n') WITH ORDINALITY AS d(l, n)
     WHERE r.relkind IN ('v', 'm')
    -- sequences
    UNION ALL
    SELECT 'l sequence', r.relname, 0,
           pg_catalog.format('sequence %s type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned_by=%s',
                             r.relname, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                             s.seqcache, s.seqcycle,
                             (SELECT d.refobjid::regclass || '.' || a.attname || ' (' || d.deptype::text || ')'
                                FROM pg_catalog.pg_depend d
                                JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                               WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = r.oid
                                 AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')))
      FROM rels r JOIN pg_catalog.pg_sequence s ON s.seqrelid = r.oid
    -- extended statistics
    UNION ALL
    SELECT 'm statistics', s.stxname, 0,
           pg_catalog.format('statistics %s def=%s', s.stxname, pg_catalog.pg_get_statisticsobjdef(s.oid))
      FROM pg_catalog.pg_statistic_ext s, ext
     WHERE s.stxnamespace = ext.extnamespace
    -- functions and procedures: the whole definition, line by line, then
    -- what the definition does not show
    UNION ALL
    SELECT 'n function', p.sig, d.n::integer, 'function ' || p.sig || ': ' || d.l
      FROM procs p, regexp_split_to_table(pg_catalog.pg_get_functiondef(p.oid), E'\n') WITH ORDINALITY AS d(l, n)
     WHERE p.prokind <> 'a'
    UNION ALL
    SELECT 'n function', p.sig, 0,
           pg_catalog.format('function %s member=%s kind=%s owner=%s acl=%s comment=%L', p.sig, p.member, p.prokind,
                             p.proowner::regrole,
                             (SELECT array_agg(x ORDER BY x::text) FROM unnest(p.proacl) x),
                             pg_catalog.obj_description(p.oid, 'pg_proc'))
      FROM procs p
    UNION ALL
    SELECT 'n function', p.sig, -1,
           pg_catalog.format('aggregate %s transfn=%s finalfn=%s combinefn=%s stype=%s initval=%s sortop=%s',
                             p.sig, g.aggtransfn, g.aggfinalfn, g.aggcombinefn, g.aggtranstype::regtype,
                             g.agginitval, g.aggsortop::regoperator)
      FROM procs p JOIN pg_catalog.pg_aggregate g ON g.aggfnoid = p.oid
    -- types
    UNION ALL
    SELECT 'o type', t.name, 0,
           pg_catalog.format('type %s member=%s typtype=%s base=%s notnull=%s default=%s collation=%s owner=%s '
                             'acl=%s comment=%L',
                             t.name, t.member, t.typtype,
                             CASE WHEN t.typbasetype <> 0 THEN t.typbasetype::regtype::text END,
                             t.typnotnull, pg_catalog.pg_get_expr(t.typdefaultbin, 0), t.typcollation,
                             t.typowner::regrole,
                             (SELECT array_agg(x ORDER BY x::text) FROM unnest(t.typacl) x),
                             pg_catalog.obj_description(t.oid, 'pg_type'))
      FROM types t
    UNION ALL
    SELECT 'o type', t.name, row_number() OVER (PARTITION BY t.oid ORDER BY e.enumsortorder)::integer,
           pg_catalog.format('type %s label %s', t.name, e.enumlabel)
      FROM types t JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
    UNION ALL
    SELECT 'o type', t.name, 0,
           pg_catalog.format('type %s range of %s opclass=%s', t.name, g.rngsubtype::regtype, g.rngsubopc)
      FROM types t JOIN pg_catalog.pg_range g ON g.rngtypid = t.oid
    -- the extension's event triggers (they belong to no schema)
    UNION ALL
    SELECT 'p event trigger', v.evtname, 0,
           pg_catalog.format('event trigger %s event=%s tags=%s function=%s enabled=%s owner=%s comment=%L',
                             v.evtname, v.evtevent, v.evttags, v.evtfoid::regprocedure, v.evtenabled,
                             v.evtowner::regrole, pg_catalog.obj_description(v.oid, 'pg_event_trigger'))
      FROM members m JOIN pg_catalog.pg_event_trigger v ON v.oid = m.objid
     WHERE m.classid = 'pg_catalog.pg_event_trigger'::regclass
)
SELECT line FROM lines ORDER BY k1, k2, k3, line;
