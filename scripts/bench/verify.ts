/**
 * Verification that a floor does the tool's work: the workflow table after floor 1 against the workflow
 * table after the tool's apply (every row's spec parsed and deep-equal, object key order aside), and the
 * floor's backups against the tool's (`stepcfg_migrate_spec_backups`: the same (uid, version, original
 * spec text) set). The naive peer keeps no backup: only its workflow specs are compared.
 */
import type { Dialect } from '../../test/support/databases.js';
import { BenchError } from './cleanup.js';
import { BACKUP_TABLE, KEPT_LABELS_TABLE, KEPT_STEPS_TABLE } from './floors.js';
import type { Session } from './targets.js';

/** The tool's table of original specs (src/migrate/bookkeeping.ts: run_id, workflow_uid, workflow_version, original_spec, written_hash). */
const TOOL_BACKUPS = 'stepcfg_migrate_spec_backups';

/** Stored text per (uid, version) key. */
export type Rows = Map<string, string | null>;

export interface State {
  specs: Rows;
  backups: Rows;
}

const text = (dialect: Dialect, column: string): string =>
  dialect === 'postgres' ? `CAST(${column} AS text)` : dialect === 'mysql' ? `CAST(${column} AS CHAR)` : column;

async function readRows(session: Session, sql: string): Promise<Rows> {
  const rows = await session.rows<{ uid: string; version: string; spec: string | null }>(sql);
  return new Map(rows.map((r) => [key(r.uid, r.version), r.spec]));
}

const key = (uid: string, version: string): string => `${uid}\u0000${version}`;
const showKey = (k: string): string =>
  `(uid ${JSON.stringify(k.split('\u0000')[0])}, version ${JSON.stringify(k.split('\u0000')[1])})`;

/** Every workflow row's spec as stored text. */
export async function workflowSpecs(session: Session, dialect: Dialect): Promise<Rows> {
  return readRows(session, `SELECT uid, version, ${text(dialect, 'spec')} AS spec FROM workflow`);
}

/** After the tool's apply (one run in the database): the workflow specs and the tool's backups. */
export async function readToolState(session: Session, dialect: Dialect): Promise<State> {
  return {
    specs: await workflowSpecs(session, dialect),
    backups: await readRows(
      session,
      `SELECT workflow_uid AS uid, workflow_version AS version, ${text(dialect, 'original_spec')} AS spec FROM ${TOOL_BACKUPS}`,
    ),
  };
}

/** After a floor: the workflow specs and the floor's backups. */
export async function readFloorState(session: Session, dialect: Dialect): Promise<State> {
  return {
    specs: await workflowSpecs(session, dialect),
    backups: await readRows(session, `SELECT uid, version, ${text(dialect, 'spec')} AS spec FROM ${BACKUP_TABLE}`),
  };
}

/** Floor 2 kept every step and label row and dropped the originals. */
export async function checkKeptTables(
  session: Session,
  dialect: Dialect,
  steps: number,
  labels: number,
): Promise<void> {
  const count = async (table: string) =>
    Number((await session.rows<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
  const [keptSteps, keptLabels] = [await count(KEPT_STEPS_TABLE), await count(KEPT_LABELS_TABLE)];
  if (keptSteps !== steps || keptLabels !== labels) {
    throw new BenchError(
      `floor 2 on ${dialect} kept ${keptSteps} step rows and ${keptLabels} label rows, expected ${steps} and ${labels}`,
    );
  }
  const schema = dialect === 'mysql' ? 'database()' : 'current_schema()';
  const stillThere = await session.rows(
    dialect === 'sqlite'
      ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('step_configuration', 'step_configuration_labels')"
      : `SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema} ` +
          `AND table_name IN ('step_configuration', 'step_configuration_labels')`,
  );
  if (stillThere.length > 0) throw new BenchError(`floor 2 on ${dialect} left the step tables in place`);
}

/**
 * Throws a BenchError naming the first difference between two states (`names`: what produced each, as
 * in "the tool", "floor 1"): a workflow row only on one side, a spec whose parsed value differs (with
 * the JSON path), or a backup row that differs.
 */
export function compareStates(
  dialect: Dialect,
  a: State,
  b: State,
  names: [string, string] = ['the tool', 'floor 1'],
): void {
  compareSpecs(dialect, a.specs, b.specs, names);
  const [nameA, nameB] = names;
  const fail = failure(dialect);
  if (a.backups.size !== b.backups.size)
    fail(`${nameA} backed up ${a.backups.size} workflow rows, ${nameB} ${b.backups.size}`);
  for (const [k, original] of a.backups) {
    if (!b.backups.has(k)) fail(`${nameA} backed up workflow row ${showKey(k)}, ${nameB} did not`);
    if (b.backups.get(k) !== original)
      fail(`the backup of workflow row ${showKey(k)} differs${both(names, original, b.backups.get(k)!)}`);
  }
}

/** Throws a BenchError naming a workflow row only on one side or the first spec whose parsed value differs. */
export function compareSpecs(dialect: Dialect, a: Rows, b: Rows, names: [string, string]): void {
  const nameB = names[1];
  const fail = failure(dialect);
  for (const [k, specA] of a) {
    if (!b.has(k)) fail(`workflow row ${showKey(k)} is missing after ${nameB}`);
    const specB = b.get(k)!;
    const difference = firstDifference(parse(specA), parse(specB), '$', names);
    if (difference !== null)
      fail(`the spec of workflow row ${showKey(k)} differs: ${difference}${both(names, specA, specB)}`);
  }
  for (const k of b.keys()) if (!a.has(k)) fail(`workflow row ${showKey(k)} exists only after ${nameB}`);
}

const failure =
  (dialect: Dialect) =>
  (message: string): never => {
    throw new BenchError(`verification failed on ${dialect}: ${message}`);
  };

/** Both sides' texts, one under the other, each after its name. */
function both(names: [string, string], x: string | null, y: string | null): string {
  const width = Math.max(names[0].length, names[1].length) + 1;
  return `\n  ${`${names[0]}:`.padEnd(width)} ${clip(x)}\n  ${`${names[1]}:`.padEnd(width)} ${clip(y)}`;
}

function parse(spec: string | null): unknown {
  if (spec === null) return null;
  try {
    return JSON.parse(spec) as unknown;
  } catch {
    return { '(not JSON)': spec };
  }
}

function clip(text: string | null): string {
  if (text === null) return 'SQL NULL';
  return text.length > 400 ? `${text.slice(0, 400)}… (${text.length} characters)` : text;
}

/** The first place where two parsed JSON values differ (arrays by position, objects by key set), or null. */
export function firstDifference(a: unknown, b: unknown, at: string, names: [string, string]): string | null {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${at}[${i}]`, names);
      if (d !== null) return d;
    }
    return a.length === b.length
      ? null
      : `${at} has ${a.length} elements after ${names[0]}, ${b.length} after ${names[1]}`;
  }
  if (isObject(a) && isObject(b)) {
    const keysB = new Set(Object.keys(b));
    for (const k of Object.keys(a)) {
      if (!keysB.has(k)) return `${at}.${k} is there only after ${names[0]}`;
      const d = firstDifference(a[k], b[k], `${at}.${k}`, names);
      if (d !== null) return d;
    }
    for (const k of keysB) if (!Object.hasOwn(a, k)) return `${at}.${k} is there only after ${names[1]}`;
    return null;
  }
  if (a === b) return null; // numbers as values: -0.0 equals 0
  return `${at} is ${JSON.stringify(a)} after ${names[0]}, ${JSON.stringify(b)} after ${names[1]}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
