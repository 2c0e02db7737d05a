import { resolve } from 'node:path';
import type { DatabaseTarget } from '../config/db-url.js';
import type { OnConflict } from '../core/types.js';

/** The name every plan file starts with, and the version of its layout this tool reads and writes. */
export const PLAN_FORMAT = 'stepcfg-migrate-plan';
export const PLAN_FORMAT_VERSION = 1;

/** What a fold's apply writes depends on: the options a plan fixes. */
export interface FoldPolicy {
  onConflict: OnConflict;
  skipInvalid: boolean;
  strict: boolean;
  dropTable: boolean;
  orphansOut: string | null;
  ifExists: boolean;
}

/**
 * What a rollback writes depends on: the run it undoes and `--force`. `run` is the run asked
 * for (`--run`, null for the latest); the run found is in the end line.
 */
export interface RollbackPolicy {
  run: string | null;
  force: boolean;
}

/** The first line of a plan file: what it plans, where, by which tool, under which options. */
export type PlanHeader = {
  format: typeof PLAN_FORMAT;
  formatVersion: number;
  toolVersion: string;
  createdAt: string;
  /** `url` as the report shows it (no password); `location` what says two URLs name one database. */
  database: { dialect: string; url: string; location: string };
  tables: { schema: string | null; step: string; workflow: string };
} & ({ kind: 'fold'; policy: FoldPolicy } | { kind: 'rollback'; policy: RollbackPolicy });

const DEFAULT_PORTS: Record<string, number> = { postgres: 5432, mysql: 3306 };

/**
 * Where a database is, independent of how its URL was spelled (driver, password, parameters): a
 * SQLite file's absolute path, a server's host, port and database.
 */
export function locationOf(target: DatabaseTarget): string {
  if (target.dialect === 'sqlite') return resolve(target.file);
  const port = target.port ?? DEFAULT_PORTS[target.dialect];
  return `${target.host}:${port}/${target.database ?? ''}`;
}

/** The major version of a tool version ("1.4.2" → "1"; "0.3.1" → "0.3", as semver reads 0.x). */
export function majorOf(version: string): string {
  const [major = '', minor = ''] = version.split('.');
  return major === '0' ? `0.${minor}` : major;
}
