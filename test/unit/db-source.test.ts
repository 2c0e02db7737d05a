import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findDatabaseUrl } from '../../src/config/db-source.js';
import { ToolError } from '../../src/errors.js';

/** Files by absolute path; a missing one fails as fs does. */
function files(byPath: Record<string, string>) {
  return (path: string): string => {
    const text = byPath[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };
}

const ENV_FILE = '/ctrl/.env';
const CONFIG = '/ctrl/config.yaml';
const read = files({
  [ENV_FILE]: 'CTRL_DB_PATH=sqlite:////from-env-file.db\nCTRL_DATA_PATH=/env-file-data\n',
  [CONFIG]: 'db:\n  db_url: sqlite:////from-config.db\n',
  '/ctrl/no-db.yaml': 'log_level: INFO\n',
  '/ctrl/db-without-url.yaml': 'db:\n  verbose: true\n',
  '/ctrl/points-to-config.env': `CTRL_CONFIG_PATH=${CONFIG}\n`,
});

const find = (env: NodeJS.ProcessEnv) => findDatabaseUrl(env, read);

function refusal(env: NodeJS.ProcessEnv): ToolError {
  try {
    find(env);
  } catch (e) {
    if (e instanceof ToolError) return e;
    throw e;
  }
  throw new Error('a URL was found');
}

describe('where the database URL comes from without --db', () => {
  it('takes each source on its own', () => {
    expect(find({ STEPCFG_DB_URL: 'a.db' })).toEqual({ url: 'a.db', source: 'STEPCFG_DB_URL' });
    expect(find({ CTRL_DB_PATH: 'b.db' })).toEqual({ url: 'b.db', source: 'CTRL_DB_PATH' });
    expect(find({ CTRL_ENV_PATH: ENV_FILE })).toEqual({
      url: 'sqlite:////from-env-file.db',
      source: `.env ${ENV_FILE}`,
    });
    expect(find({ CTRL_CONFIG_PATH: CONFIG })).toEqual({
      url: 'sqlite:////from-config.db',
      source: `config ${CONFIG}`,
    });
    expect(find({ CTRL_DATA_PATH: '/data/' })).toEqual({ url: 'sqlite:////data/sql.db', source: 'CTRL_DATA_PATH' });
  });

  it("follows the controller's order: STEPCFG_DB_URL, the config's db_url, CTRL_DB_PATH (environment, then .env), CTRL_DATA_PATH", () => {
    const all = { CTRL_ENV_PATH: ENV_FILE, CTRL_CONFIG_PATH: CONFIG, CTRL_DB_PATH: 'b.db', CTRL_DATA_PATH: '/d' };
    expect(find({ ...all, STEPCFG_DB_URL: 'a.db' }).source).toBe('STEPCFG_DB_URL');
    // The controller's YAML db section replaces its default (CTRL_DB_PATH) whole.
    expect(find(all).source).toBe(`config ${CONFIG}`);
    expect(find({ ...all, CTRL_CONFIG_PATH: '/ctrl/no-db.yaml' }).source).toBe('CTRL_DB_PATH');
    expect(find({ ...all, CTRL_CONFIG_PATH: undefined, CTRL_DB_PATH: '' }).source).toBe(`.env ${ENV_FILE}`);
    expect(find({ CTRL_DATA_PATH: '/d', CTRL_ENV_PATH: '/ctrl/points-to-config.env' }).source).toBe(`config ${CONFIG}`);
    expect(find({ CTRL_DATA_PATH: '/d', CTRL_ENV_PATH: '/ctrl/missing.env' })).toEqual({
      url: 'sqlite:////d/sql.db',
      source: 'CTRL_DATA_PATH',
    });
  });

  it('reads relative paths from the working directory and names them whole', () => {
    const here = files({ [resolve('ctrl.yaml')]: 'db: {db_url: x.db}\n' });
    expect(findDatabaseUrl({ CTRL_CONFIG_PATH: 'ctrl.yaml' }, here).source).toBe(`config ${resolve('ctrl.yaml')}`);
  });

  it('refuses, as usage errors, what the controller could not start with', () => {
    expect(refusal({ CTRL_CONFIG_PATH: '/ctrl/missing.yaml' }).message).toBe(
      'cannot read the controller config /ctrl/missing.yaml (CTRL_CONFIG_PATH): ENOENT',
    );
    expect(refusal({ CTRL_CONFIG_PATH: '/ctrl/db-without-url.yaml', CTRL_DB_PATH: 'b.db' }).message).toMatch(
      /^the controller config \/ctrl\/db-without-url\.yaml has a db: section without db_url/,
    );
    expect(refusal({}).exitCode).toBe(2);
    expect(refusal({ CTRL_ENV_PATH: '/ctrl/missing.env' }).message).toMatch(
      /^no database given: .* \(CTRL_ENV_PATH names \/ctrl\/missing\.env, which does not exist\)$/,
    );
  });
});
