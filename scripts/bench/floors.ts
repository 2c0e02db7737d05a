/**
 * The floors: the best single set-based SQL transaction that does the tool's fold, per database, as a
 * lower bound for the tool's times.
 *
 * Floor 1 (compare with the tool's apply and rollback), in one transaction:
 *   - copies (uid, version, spec text) of every workflow row that changes into `stepcfg_floor_backup`;
 *   - appends to each such row's `spec.step_configurations` (a new array if there is none; a NULL or
 *     JSON `null` spec counts as `{}`; the other keys of spec stay) one item per step row whose
 *     `workflow_id` equals the row's `uid` (every version row of the workflow):
 *       {"name": <name column>, "step_name": spec.step_name, "branch": spec.branch or "default" when
 *        missing/null, "kwargs": spec.kwargs or {} when missing/null},
 *     ordered by (`created`, `name` by code point: COLLATE "C" / utf8mb4_bin / SQLite's BINARY).
 * Floor 2 (compare with the tool's apply --drop-table): floor 1 plus, in the same transaction, a copy of
 *   every step row and label row (`stepcfg_floor_steps`, `stepcfg_floor_labels`, CREATE TABLE … AS
 *   SELECT: rows only, no keys or indexes) and the drop of both original tables (labels first: its
 *   foreign key points at the step table).
 *
 * What the floors do NOT do, and the tool does: no preflight or introspection, no validation (a spec
 * that is not an object, a missing step_name, a non-array step_configurations, duplicate names are not
 * detected: whatever the JSON functions make of them is written), no conflict detection or
 * `unchanged` items (a second run appends the items again), no orphan report or --orphans-out file,
 * no run record, lock or fingerprints, no json.dumps formatting of the items (they are what the
 * database's JSON functions write: minified on SQLite, `{"name" : …}` on PostgreSQL; the verification
 * compares parsed values), no byte-exact spec outside the common case (the fastest formulations
 * splice the items into the spec's text when it is a non-empty object without step_configurations;
 * otherwise json_set / jsonb / JSON_SET re-serialise the whole spec), no check that the step table
 * still holds what was read, and on MariaDB no atomic drop (see below). Rollback has no floor of its
 * own: restoring the specs is the same order of work as floor 1, which it is compared with.
 *
 * MariaDB: DDL commits implicitly, so the floor creates its tables first (CREATE TABLE before START
 * TRANSACTION; for floor 2 the kept tables as `CREATE TABLE … AS SELECT … WHERE 1 = 0`, i.e. CTAS
 * columns without rows), does all the DML (backup, copies of the step and label rows, the fold) in one
 * transaction, and drops the two original tables after COMMIT (the tool instead commits the fold and
 * then renames the tables atomically).
 *
 * Each dialect has a few formulations, timed against each other with scripts/bench/floor-variants.ts
 * (which also checks each one against the tool on the edge cases of fixtures/datasets/cases.json);
 * `FLOOR` names the one the benchmark uses: the fastest. Floor 1 on the benchmark machine (2-core AMD
 * EPYC VM, shared; PostgreSQL 15 and MariaDB 10.11 with default settings), 100k step rows median of 3 /
 * 1M step rows one run:
 *   SQLite      correlated-splice 0.27 / 3.4 s, correlated 0.36 / 3.8 s, temp-table 0.43 / 5.4 s,
 *               update-from-subquery 0.56 / 7.3 s
 *   PostgreSQL  json-splice-one-statement 0.80 / 7.9 s, json-splice 0.89 / 8.8 s, json-splice-4MB
 *               0.81 / 9.8 s, json-items-jsonb-merge 1.16 / 11.7 s, jsonb 1.47 / 15.0 s
 *   MariaDB     update-join-splice 1.06 / 15.3 s, temp-table-splice 1.07 / 15.1 s, update-join-derived
 *               1.26 / 18.0 s, temp-table 1.19 / 18.7 s
 * Where the time goes: building the items (JSON functions over every step row: about half), the
 * update itself (every workflow row grows from ~0.2 to ~1.6 KB: new row versions, page splits,
 * index entries), and on PostgreSQL and MariaDB any re-serialisation of the whole spec through
 * jsonb / JSON_SET, which the splice avoids.
 */
import type { Dialect } from '../../test/support/databases.js';

export type FloorKind = 'floor1' | 'floor2';

export interface FloorVariant {
  name: string;
  /** One line: how it does it. */
  how: string;
  /** The statements, run one by one on one session; the whole list is timed. */
  statements(kind: FloorKind): string[];
}

export const BACKUP_TABLE = 'stepcfg_floor_backup';
export const KEPT_STEPS_TABLE = 'stepcfg_floor_steps';
export const KEPT_LABELS_TABLE = 'stepcfg_floor_labels';

// ---------------------------------------------------------------------------------------------- SQLite

/** A step row `s` as its item (better-sqlite3 bundles SQLite 3.53: `->>`, `ORDER BY` inside aggregates). */
const SQLITE_ITEM =
  "json_object('name', s.name, 'step_name', s.spec ->> '$.step_name', " +
  "'branch', coalesce(s.spec ->> '$.branch', 'default'), 'kwargs', coalesce(json_extract(s.spec, '$.kwargs'), json_object()))";
const SQLITE_ITEMS = `json_group_array(${SQLITE_ITEM} ORDER BY s.created, s.name)`;
/** The workflow's spec, NULL or `null` as `{}`. */
const SQLITE_BASE =
  "(CASE WHEN workflow.spec IS NULL OR json_type(workflow.spec) = 'null' THEN '{}' ELSE workflow.spec END)";

/**
 * The new spec for an items array (JSON text, with or without JSON subtype): set as
 * `step_configurations`, or appended to a non-empty existing array by joining the two arrays' texts
 * (`[a,b` + `,` + `c]`; numbers keep their literals, which a json_each round trip would not).
 */
function sqliteMerged(items: string): string {
  const existing = `(${SQLITE_BASE} -> '$.step_configurations')`;
  return (
    `json_set(${SQLITE_BASE}, '$.step_configurations', CASE WHEN json_type(${SQLITE_BASE}, '$.step_configurations') = 'array' ` +
    `AND json_array_length(${SQLITE_BASE}, '$.step_configurations') > 0 ` +
    `THEN json(substr(${existing}, 1, length(${existing}) - 1) || ',' || substr(${items}, 2)) ELSE json(${items}) END)`
  );
}

/**
 * The new spec, spliced into the spec's text when it is a non-empty object without step_configurations
 * (`{…}` becomes `{…, "step_configurations": [...]}`: the rest of the text untouched, no re-rendering
 * of the whole spec by json_set); {@link sqliteMerged} otherwise. A spec whose text ends in `}` and is
 * valid JSON is an object; one that is not JSON makes json_type fail, as it does json_set.
 */
function sqliteSpliced(items: string): string {
  const spec = 'workflow.spec';
  return (
    `CASE WHEN ${spec} IS NOT NULL AND substr(${spec}, -1) = '}' AND json_type(${spec}, '$.step_configurations') IS NULL ` +
    `AND trim(substr(${spec}, 1, length(${spec}) - 1), ' ' || char(9, 10, 13)) <> '{' ` +
    `THEN substr(${spec}, 1, length(${spec}) - 1) || ', "step_configurations": ' || ${items} || '}' ELSE ${sqliteMerged(items)} END`
  );
}

const SQLITE_BACKUP_TABLE = `CREATE TABLE ${BACKUP_TABLE} (uid VARCHAR(64) NOT NULL, version VARCHAR(255) NOT NULL, spec JSON)`;
const SQLITE_BACKUP_ROWS =
  `INSERT INTO ${BACKUP_TABLE} (uid, version, spec) SELECT uid, version, spec FROM workflow ` +
  'WHERE uid IN (SELECT workflow_id FROM step_configuration)';
/** Floor 2's extra: every step and label row kept in a copy, then both tables dropped (SQLite and PostgreSQL). */
const KEEP_AND_DROP = [
  `CREATE TABLE ${KEPT_STEPS_TABLE} AS SELECT * FROM step_configuration`,
  `CREATE TABLE ${KEPT_LABELS_TABLE} AS SELECT * FROM step_configuration_labels`,
  'DROP TABLE step_configuration_labels',
  'DROP TABLE step_configuration',
];

function sqliteTransaction(kind: FloorKind, fold: string[]): string[] {
  return [
    'BEGIN IMMEDIATE',
    SQLITE_BACKUP_TABLE,
    SQLITE_BACKUP_ROWS,
    ...fold,
    ...(kind === 'floor2' ? KEEP_AND_DROP : []),
    'COMMIT',
  ];
}

const SQLITE_CORRELATED_ITEMS = `(SELECT ${SQLITE_ITEMS} FROM step_configuration s WHERE s.workflow_id = workflow.uid)`;

const SQLITE_VARIANTS: FloorVariant[] = [
  {
    name: 'correlated-splice',
    how:
      'UPDATE workflow SET spec = (correlated json_group_array over the step rows of workflow.uid) spliced into the spec text ' +
      '(json_set when the spec is empty, NULL, or has step_configurations)',
    statements: (kind) =>
      sqliteTransaction(kind, [
        `UPDATE workflow SET spec = ${sqliteSpliced(SQLITE_CORRELATED_ITEMS)} WHERE uid IN (SELECT workflow_id FROM step_configuration)`,
      ]),
  },
  {
    name: 'correlated',
    how:
      "UPDATE workflow SET spec = json_set(spec, '$.step_configurations', (correlated json_group_array " +
      'over the step rows of workflow.uid, via ix_step_configuration_workflow_id))',
    statements: (kind) =>
      sqliteTransaction(kind, [
        `UPDATE workflow SET spec = ${sqliteMerged(SQLITE_CORRELATED_ITEMS)} ` +
          'WHERE uid IN (SELECT workflow_id FROM step_configuration)',
      ]),
  },
  {
    name: 'temp-table',
    how: 'items pre-aggregated per workflow_id into a TEMP table (uid PRIMARY KEY), then UPDATE … FROM it',
    statements: (kind) =>
      sqliteTransaction(kind, [
        'CREATE TEMP TABLE stepcfg_floor_items (uid TEXT PRIMARY KEY, items TEXT NOT NULL)',
        `INSERT INTO stepcfg_floor_items (uid, items) SELECT s.workflow_id, ${SQLITE_ITEMS} FROM step_configuration s ` +
          'WHERE s.workflow_id IN (SELECT uid FROM workflow) GROUP BY s.workflow_id',
        `UPDATE workflow SET spec = ${sqliteMerged('i.items')} FROM stepcfg_floor_items i WHERE i.uid = workflow.uid`,
        'DROP TABLE stepcfg_floor_items',
      ]),
  },
  {
    name: 'update-from-subquery',
    how: 'UPDATE … FROM (SELECT workflow_id, json_group_array(…) … GROUP BY workflow_id)',
    statements: (kind) =>
      sqliteTransaction(kind, [
        `UPDATE workflow SET spec = ${sqliteMerged('a.items')} ` +
          `FROM (SELECT s.workflow_id AS uid, ${SQLITE_ITEMS} AS items FROM step_configuration s GROUP BY s.workflow_id) a ` +
          'WHERE a.uid = workflow.uid',
      ]),
  },
];

// ------------------------------------------------------------------------------------------ PostgreSQL

/**
 * The step row `s`'s item, built as json text from the json column: `->` and `->>` parse the spec
 * text (no jsonb conversion), json_build_object/json_agg concatenate text. `->>` is NULL for a JSON
 * null or missing branch; a JSON null kwargs is the text `null`.
 */
const PG_ITEM_JSON =
  "json_build_object('name', s.name, 'step_name', s.spec -> 'step_name', 'branch', coalesce(s.spec ->> 'branch', 'default'), " +
  "'kwargs', coalesce(nullif((s.spec -> 'kwargs')::text, 'null')::json, '{}'::json))";
const PG_ITEMS_JSON = `json_agg(${PG_ITEM_JSON} ORDER BY s.created, s.name COLLATE "C")`;
/** The same item through jsonb: the step spec parsed into jsonb once, items built with jsonb functions. */
const PG_ITEM_JSONB =
  "jsonb_build_object('name', s.name, 'step_name', s.j -> 'step_name', " +
  "'branch', coalesce(nullif(s.j -> 'branch', 'null'::jsonb), '\"default\"'::jsonb), " +
  "'kwargs', coalesce(nullif(s.j -> 'kwargs', 'null'::jsonb), '{}'::jsonb))";
const PG_ITEMS_JSONB = `jsonb_agg(${PG_ITEM_JSONB} ORDER BY s.created, s.name COLLATE "C")`;
const PG_STEPS_JSONB = '(SELECT workflow_id, name, created, spec::jsonb AS j FROM step_configuration)';

/** The new spec of workflow row `w` through jsonb: `spec || {"step_configurations": existing array || items}`. */
function pgJsonbMerged(items: string): string {
  const base = "coalesce(nullif(w.spec::jsonb, 'null'::jsonb), '{}'::jsonb)";
  return (
    `(${base} || jsonb_build_object('step_configurations', CASE WHEN jsonb_typeof(${base} -> 'step_configurations') = 'array' ` +
    `THEN (${base} -> 'step_configurations') || ${items} ELSE ${items} END))::json`
  );
}

/**
 * The new spec of workflow row `w` for a json items array, spliced into the spec's text when it is a
 * non-empty object without step_configurations (the common case: `{…}` becomes
 * `{…, "step_configurations": [...]}`, the rest of the text untouched; jsonb is several times slower
 * here); through jsonb otherwise (NULL, `null`, empty object, an existing step_configurations).
 */
function pgSplicedMerged(items: string): string {
  const ws = "E' \\t\\n\\r'";
  return (
    `CASE WHEN w.spec IS NOT NULL AND right(w.spec::text, 1) = '}' AND (w.spec -> 'step_configurations') IS NULL ` +
    `AND btrim(left(w.spec::text, -1), ${ws}) <> '{' ` +
    `THEN (left(w.spec::text, -1) || ', "step_configurations": ' || ${items}::text || '}')::json ` +
    `ELSE ${pgJsonbMerged(`${items}::jsonb`)} END`
  );
}

const PG_BACKUP_TABLE = `CREATE TABLE ${BACKUP_TABLE} (uid VARCHAR(64) NOT NULL, version VARCHAR(255) NOT NULL, spec TEXT)`;
const PG_BACKUP_ROWS =
  `INSERT INTO ${BACKUP_TABLE} (uid, version, spec) SELECT uid, version, spec::text FROM workflow ` +
  'WHERE uid IN (SELECT workflow_id FROM step_configuration)';
/** The items of all workflows are hashed for the join: keep the hash in memory (the default 4MB spills to disk). */
const PG_WORK_MEM = "SET LOCAL work_mem = '256MB'";

function pgTransaction(kind: FloorKind, body: string[], workMem = true): string[] {
  return [
    'BEGIN',
    ...(workMem ? [PG_WORK_MEM] : []),
    PG_BACKUP_TABLE,
    ...body,
    ...(kind === 'floor2' ? KEEP_AND_DROP : []),
    'COMMIT',
  ];
}

const pgUpdateFrom = (merged: string, itemsQuery: string): string =>
  `UPDATE workflow w SET spec = ${merged} FROM (${itemsQuery}) a WHERE a.workflow_id = w.uid`;
const PG_JSON_ITEMS_QUERY = `SELECT s.workflow_id, ${PG_ITEMS_JSON} AS items FROM step_configuration s GROUP BY s.workflow_id`;

const PG_VARIANTS: FloorVariant[] = [
  {
    name: 'json-splice',
    how:
      'backup INSERT … WHERE uid IN (…); ' +
      'UPDATE … FROM (SELECT workflow_id, json_agg(json_build_object(…) ORDER BY …) … GROUP BY workflow_id), ' +
      'items spliced into the spec text (jsonb when step_configurations exists); work_mem 256MB',
    statements: (kind) =>
      pgTransaction(kind, [PG_BACKUP_ROWS, pgUpdateFrom(pgSplicedMerged('a.items'), PG_JSON_ITEMS_QUERY)]),
  },
  {
    name: 'json-splice-4MB',
    how: 'json-splice with the default work_mem (4MB)',
    statements: (kind) =>
      pgTransaction(kind, [PG_BACKUP_ROWS, pgUpdateFrom(pgSplicedMerged('a.items'), PG_JSON_ITEMS_QUERY)], false),
  },
  {
    name: 'json-items-jsonb-merge',
    how: 'items as in json-splice, merged through jsonb (spec::jsonb || {"step_configurations": …})::json',
    statements: (kind) =>
      pgTransaction(kind, [PG_BACKUP_ROWS, pgUpdateFrom(pgJsonbMerged('a.items::jsonb'), PG_JSON_ITEMS_QUERY)]),
  },
  {
    name: 'jsonb',
    how: 'all jsonb: spec::jsonb once per step row, jsonb_build_object/jsonb_agg, jsonb merge',
    statements: (kind) =>
      pgTransaction(kind, [
        PG_BACKUP_ROWS,
        pgUpdateFrom(
          pgJsonbMerged('a.items'),
          `SELECT s.workflow_id, ${PG_ITEMS_JSONB} AS items FROM ${PG_STEPS_JSONB} s GROUP BY s.workflow_id`,
        ),
      ]),
  },
  {
    name: 'json-splice-one-statement',
    how:
      'json-splice as one statement: WITH a AS (items), ' +
      'b AS (INSERT backup … JOIN a) UPDATE … FROM a (the CTE sees the specs before the update)',
    statements: (kind) =>
      pgTransaction(kind, [
        `WITH a AS (${PG_JSON_ITEMS_QUERY}), ` +
          `b AS (INSERT INTO ${BACKUP_TABLE} (uid, version, spec) SELECT w.uid, w.version, w.spec::text ` +
          `FROM workflow w JOIN a ON a.workflow_id = w.uid) ` +
          `UPDATE workflow w SET spec = ${pgSplicedMerged('a.items')} FROM a WHERE a.workflow_id = w.uid`,
      ]),
  },
];

// ------------------------------------------------------------------------------------- MariaDB / MySQL

/** The step row `s`'s item: JSON_VALUE is NULL for a JSON null or missing branch, JSON_QUERY for a null kwargs. */
const MYSQL_ITEM =
  "JSON_OBJECT('name', s.name, 'step_name', JSON_VALUE(s.spec, '$.step_name'), " +
  "'branch', COALESCE(JSON_VALUE(s.spec, '$.branch'), 'default'), 'kwargs', COALESCE(JSON_QUERY(s.spec, '$.kwargs'), JSON_OBJECT()))";
/** JSON_ARRAYAGG is built on GROUP_CONCAT: the session raises group_concat_max_len (see targets.ts). */
const MYSQL_ITEMS = `JSON_ARRAYAGG(${MYSQL_ITEM} ORDER BY s.created, s.name COLLATE utf8mb4_bin)`;

/** The new spec of workflow row `w` for an items array read back from a table (JSON_QUERY makes it JSON again). */
function mysqlMerged(items: string): string {
  const base = "(CASE WHEN w.spec IS NULL OR JSON_TYPE(w.spec) = 'NULL' THEN '{}' ELSE w.spec END)";
  return (
    `JSON_SET(${base}, '$.step_configurations', CASE WHEN JSON_TYPE(JSON_EXTRACT(${base}, '$.step_configurations')) = 'ARRAY' ` +
    `THEN JSON_MERGE_PRESERVE(JSON_EXTRACT(${base}, '$.step_configurations'), ${items}) ELSE JSON_QUERY(${items}, '$') END)`
  );
}

/** Spliced into the spec's text when it is a non-empty object without step_configurations; {@link mysqlMerged} otherwise. */
function mysqlSpliced(items: string): string {
  return (
    "CASE WHEN w.spec IS NOT NULL AND RIGHT(w.spec, 1) = '}' AND JSON_CONTAINS_PATH(w.spec, 'one', '$.step_configurations') = 0 " +
    `AND JSON_LENGTH(w.spec) > 0 THEN CONCAT(LEFT(w.spec, CHAR_LENGTH(w.spec) - 1), ', "step_configurations": ', ${items}, '}') ` +
    `ELSE ${mysqlMerged(items)} END`
  );
}

const MYSQL_BACKUP_TABLE =
  `CREATE TABLE ${BACKUP_TABLE} (uid VARCHAR(64) NOT NULL, version VARCHAR(255) NOT NULL, spec LONGTEXT) ` +
  `ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
const MYSQL_BACKUP_ROWS =
  `INSERT INTO ${BACKUP_TABLE} (uid, version, spec) SELECT uid, version, spec FROM workflow ` +
  'WHERE uid IN (SELECT workflow_id FROM step_configuration)';

function mysqlTransaction(kind: FloorKind, body: string[]): string[] {
  const keep = kind === 'floor2';
  return [
    MYSQL_BACKUP_TABLE,
    ...(keep
      ? [
          `CREATE TABLE ${KEPT_STEPS_TABLE} AS SELECT * FROM step_configuration WHERE 1 = 0`,
          `CREATE TABLE ${KEPT_LABELS_TABLE} AS SELECT * FROM step_configuration_labels WHERE 1 = 0`,
        ]
      : []),
    'START TRANSACTION',
    ...(keep
      ? [
          `INSERT INTO ${KEPT_STEPS_TABLE} SELECT * FROM step_configuration`,
          `INSERT INTO ${KEPT_LABELS_TABLE} SELECT * FROM step_configuration_labels`,
        ]
      : []),
    ...body,
    'COMMIT',
    ...(keep ? ['DROP TABLE step_configuration_labels', 'DROP TABLE step_configuration'] : []),
  ];
}

const MYSQL_DERIVED_ITEMS = `(SELECT s.workflow_id, ${MYSQL_ITEMS} AS items FROM step_configuration s GROUP BY s.workflow_id)`;

function mysqlTempTable(kind: FloorKind, merged: string): string[] {
  return mysqlTransaction(kind, [
    'CREATE TEMPORARY TABLE stepcfg_floor_items (workflow_id VARCHAR(64) NOT NULL PRIMARY KEY, items LONGTEXT NOT NULL) ' +
      'DEFAULT CHARSET=utf8mb4',
    `INSERT INTO stepcfg_floor_items SELECT s.workflow_id, ${MYSQL_ITEMS} FROM step_configuration s ` +
      `WHERE s.workflow_id IS NOT NULL GROUP BY s.workflow_id`,
    `INSERT INTO ${BACKUP_TABLE} (uid, version, spec) SELECT w.uid, w.version, w.spec ` +
      `FROM workflow w JOIN stepcfg_floor_items a ON a.workflow_id = w.uid`,
    `UPDATE workflow w JOIN stepcfg_floor_items a ON a.workflow_id = w.uid SET w.spec = ${merged}`,
    'DROP TEMPORARY TABLE stepcfg_floor_items',
  ]);
}

const MYSQL_VARIANTS: FloorVariant[] = [
  {
    name: 'update-join-splice',
    how: 'as update-join-derived, the items spliced into the spec text (JSON_SET when the spec is empty, NULL, or has step_configurations)',
    statements: (kind) =>
      mysqlTransaction(kind, [
        MYSQL_BACKUP_ROWS,
        `UPDATE workflow w JOIN ${MYSQL_DERIVED_ITEMS} a ON a.workflow_id = w.uid SET w.spec = ${mysqlSpliced('a.items')}`,
      ]),
  },
  {
    name: 'temp-table-splice',
    how: 'as temp-table, the items spliced into the spec text',
    statements: (kind) => mysqlTempTable(kind, mysqlSpliced('a.items')),
  },
  {
    name: 'update-join-derived',
    how:
      'backup INSERT … WHERE uid IN (…); ' +
      'UPDATE workflow w JOIN (SELECT workflow_id, JSON_ARRAYAGG(JSON_OBJECT(…) ORDER BY …) … GROUP BY workflow_id) a ' +
      'SET spec = JSON_SET(…)',
    statements: (kind) =>
      mysqlTransaction(kind, [
        MYSQL_BACKUP_ROWS,
        `UPDATE workflow w JOIN ${MYSQL_DERIVED_ITEMS} a ON a.workflow_id = w.uid SET w.spec = ${mysqlMerged('a.items')}`,
      ]),
  },
  {
    name: 'temp-table',
    how: 'items pre-aggregated into a TEMPORARY table (workflow_id PRIMARY KEY; no implicit commit), then UPDATE … JOIN it',
    statements: (kind) => mysqlTempTable(kind, mysqlMerged('a.items')),
  },
];

export const FLOOR_VARIANTS: Record<Dialect, FloorVariant[]> = {
  sqlite: SQLITE_VARIANTS,
  postgres: PG_VARIANTS,
  mysql: MYSQL_VARIANTS,
};

/** The formulation the benchmark times, per database. */
export const FLOOR: Record<Dialect, string> = {
  sqlite: 'correlated-splice',
  postgres: 'json-splice-one-statement',
  mysql: 'update-join-splice',
};

export function floorVariant(dialect: Dialect, name = FLOOR[dialect]): FloorVariant {
  const variant = FLOOR_VARIANTS[dialect].find((v) => v.name === name);
  if (!variant) throw new Error(`no floor formulation ${name} for ${dialect}`);
  return variant;
}
