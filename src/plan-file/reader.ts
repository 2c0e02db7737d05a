import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { usageError } from '../errors.js';
import { entryOf, type Entry } from './entry.js';
import { majorOf, PLAN_FORMAT, PLAN_FORMAT_VERSION, type PlanHeader } from './header.js';
import type { PlanTrailer, WrittenPlan } from './writer.js';

/** A plan file read whole and found intact: its header, its trailer, and its hash. */
export interface LoadedPlan extends WrittenPlan {
  header: PlanHeader;
  trailer: PlanTrailer;
}

/** The lines of a file as bytes (without their newline), with a hash of all of its bytes. */
async function* linesOf(path: string, whole?: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  let rest = Buffer.alloc(0);
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    whole?.update(chunk);
    let data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    for (let at = data.indexOf(0x0a); at >= 0; at = data.indexOf(0x0a)) {
      yield data.subarray(0, at);
      data = data.subarray(at + 1);
    }
    rest = Buffer.from(data);
  }
  if (rest.length > 0) yield rest;
}

function parsed(line: Buffer | undefined): unknown {
  try {
    return line === undefined ? undefined : JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What reading a plan file has come to: the header, the entries, the checksum line, past it. */
interface Reading {
  at: 'header' | 'entries' | 'checksum' | 'done';
  header?: PlanHeader;
  trailer?: PlanTrailer;
  expected?: unknown;
  checksum: ReturnType<typeof createHash>;
  entries: number;
}

/**
 * Reads a plan file and checks it before anything connects: a plan of this tool, in a layout and
 * of a major version this tool reads, every byte as written (the checksum), as many entries as
 * its end line says. Anything else is a usage error in one line.
 */
export async function readPlanFile(path: string, toolVersion: string): Promise<LoadedPlan> {
  const whole = createHash('sha256');
  const r: Reading = { at: 'header', checksum: createHash('sha256'), entries: 0 };
  const damaged = (why: string) => usageError(`--plan ${path} is damaged (${why}); make the plan again`);
  try {
    for await (const line of linesOf(path, whole)) readLine(r, line, { path, toolVersion, damaged });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) throw usageError(`--plan ${path}: cannot read it (${(e as Error).message})`);
    throw e;
  }
  if (!r.header) throw usageError(`--plan ${path} is empty: not a plan file of stepcfg-migrate`);
  if (r.at !== 'done') throw damaged('it ends before its end line and checksum');
  if (r.expected !== `sha256:${r.checksum.digest('hex')}`) throw damaged('its checksum does not match its content');
  const trailer = r.trailer!;
  if (trailer.entries !== r.entries || typeof trailer.digest !== 'string') {
    throw damaged('its entries do not add up to its end line');
  }
  return { path, sha256: whole.digest('hex'), header: r.header, trailer };
}

/** One line of a plan file, by where the reading is. */
function readLine(
  r: Reading,
  line: Buffer,
  ctx: { path: string; toolVersion: string; damaged: (why: string) => Error },
): void {
  const value = r.at === 'entries' && line[0] === 0x5b ? undefined : parsed(line);
  if (r.at !== 'checksum' && r.at !== 'done') r.checksum.update(line).update('\n');
  if (r.at === 'header') {
    r.header = headerOf(value, ctx.path, ctx.toolVersion);
    r.at = 'entries';
  } else if (r.at === 'entries') {
    // An entry is only counted here: the checksum vouches for its bytes, and the apply's digest
    // for what they say. Parsing a million of them would cost seconds before connecting.
    if (line[0] === 0x5b) r.entries++;
    else if (isObject(value) && value.end === true) {
      r.trailer = value as PlanTrailer;
      r.at = 'checksum';
    } else throw ctx.damaged(`line ${r.entries + 2} is neither an entry nor the end line`);
  } else if (r.at === 'checksum') {
    r.expected = isObject(value) ? value.checksum : undefined;
    r.at = 'done';
  } else throw ctx.damaged('it goes on after its checksum');
}

/** The header, if this is a plan this tool can apply; else why not, as a usage error. */
function headerOf(value: unknown, path: string, toolVersion: string): PlanHeader {
  if (!isObject(value) || value.format !== PLAN_FORMAT) {
    throw usageError(`--plan ${path} is not a plan file of stepcfg-migrate (make one with: plan --out FILE)`);
  }
  const version = String(value.toolVersion);
  if (typeof value.formatVersion !== 'number' || value.formatVersion > PLAN_FORMAT_VERSION) {
    throw usageError(
      `--plan ${path} has plan format ${String(value.formatVersion)}, which stepcfg-migrate ${toolVersion} cannot read; ` +
        `apply it with stepcfg-migrate ${version}, or make the plan again`,
    );
  }
  if (majorOf(version) !== majorOf(toolVersion)) {
    throw usageError(
      `--plan ${path} was made by stepcfg-migrate ${version}, another major version than this ${toolVersion}; ` +
        `apply it with stepcfg-migrate ${version}, or make the plan again`,
    );
  }
  return value as unknown as PlanHeader;
}

/** The entries of a plan file already checked by `readPlanFile`, one at a time. */
export async function* planEntries(path: string): AsyncGenerator<Entry> {
  for await (const line of linesOf(path)) {
    const entry = entryOf(parsed(line));
    if (entry) yield entry;
  }
}
