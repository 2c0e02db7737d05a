import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { usageError } from '../errors.js';
import { readDbUrl, YamlSubsetError } from './controller-yaml.js';
import { parseDotenv } from './dotenv.js';

/** A database URL and where it was found (`--db`, `STEPCFG_DB_URL`, `config <path>`, …). */
export interface FoundUrl {
  url: string;
  source: string;
}

/** Reads a file as text; throws the fs error (with its `code`) when it cannot. */
export type ReadText = (path: string) => string;

const readText: ReadText = (path) => readFileSync(path, 'utf8');

/** The controller's `.env` (CTRL_ENV_PATH) as python-dotenv gives it: missing is the same as empty. */
interface EnvFile {
  path: string;
  values: Map<string, string>;
  missing: boolean;
}

/**
 * The database URL when `--db` is absent: `STEPCFG_DB_URL` (the tool's own), then the one the
 * genai-factory controller would use, found by the controller's own rules: it loads the `.env`
 * file at CTRL_ENV_PATH without overriding the environment, so CTRL_DB_PATH, CTRL_DATA_PATH and
 * CTRL_CONFIG_PATH come from the environment first and from that file second; a YAML config at
 * CTRL_CONFIG_PATH whose `db` mapping is given replaces the default `db` whole, so its `db_url`
 * wins over CTRL_DB_PATH; the default is CTRL_DB_PATH, else `sqlite:///<CTRL_DATA_PATH>/sql.db`.
 * (Without CTRL_ENV_PATH or CTRL_DATA_PATH the controller looks next to its own code, which the
 * tool cannot know.) A problem with those files is a usage error.
 */
export function findDatabaseUrl(env: NodeJS.ProcessEnv, read: ReadText = readText): FoundUrl {
  if (env.STEPCFG_DB_URL) return { url: env.STEPCFG_DB_URL, source: 'STEPCFG_DB_URL' };
  const envFile = env.CTRL_ENV_PATH ? readEnvFile(env.CTRL_ENV_PATH, env, read) : undefined;
  const setting = (name: string): FoundUrl | undefined => {
    if (env[name]) return { url: env[name], source: name };
    const value = envFile?.values.get(name);
    return value ? { url: value, source: `.env ${envFile!.path}` } : undefined;
  };
  const config = setting('CTRL_CONFIG_PATH');
  const fromConfig = config && configUrl(config.url, read);
  if (fromConfig) return fromConfig;
  const direct = setting('CTRL_DB_PATH');
  if (direct) return direct;
  const data = setting('CTRL_DATA_PATH');
  if (data) return { url: `sqlite:///${data.url.replace(/\/+$/, '')}/sql.db`, source: data.source };
  throw usageError(
    'no database given: pass --db URL, or set STEPCFG_DB_URL, CTRL_DB_PATH, CTRL_ENV_PATH (a .env file with ' +
      'CTRL_DB_PATH), CTRL_CONFIG_PATH (the controller config with db.db_url) or CTRL_DATA_PATH' +
      (envFile?.missing ? ` (CTRL_ENV_PATH names ${envFile.path}, which does not exist)` : ''),
  );
}

function readEnvFile(path: string, env: NodeJS.ProcessEnv, read: ReadText): EnvFile {
  const full = resolve(path);
  try {
    return { path: full, values: parseDotenv(read(full), env), missing: false };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // python-dotenv reads a missing file (or a directory) as an empty one; the controller starts all the same.
    if (code === 'ENOENT' || code === 'EISDIR') return { path: full, values: new Map(), missing: true };
    throw usageError(`cannot read the .env file ${full} (CTRL_ENV_PATH): ${code ?? (e as Error).message}`);
  }
}

/** `db.db_url` of the controller config; undefined when the config has no `db` (the controller's default holds). */
function configUrl(path: string, read: ReadText): FoundUrl | undefined {
  const full = resolve(path);
  let text: string;
  try {
    text = read(full);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError(`cannot read the controller config ${full} (CTRL_CONFIG_PATH): ${code ?? (e as Error).message}`);
  }
  let found;
  try {
    found = readDbUrl(text);
  } catch (e) {
    if (!(e instanceof YamlSubsetError)) throw e;
    throw usageError(`cannot read db.db_url of the controller config ${full}: ${e.message}; or pass --db`);
  }
  if (found.kind === 'no-db') return undefined;
  if (found.kind === 'no-db-url') {
    throw usageError(
      `the controller config ${full} has a db: section without db_url, which the controller cannot start with; ` +
        'add db_url or pass --db',
    );
  }
  return { url: found.url, source: `config ${full}` };
}
