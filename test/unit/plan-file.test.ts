import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planDiff } from '../../src/plan-file/compare.js';
import { Digest, entryLine, entryOf, type Entry } from '../../src/plan-file/entry.js';
import { fingerprint, specFingerprint, stepFingerprint } from '../../src/plan-file/fingerprint.js';
import { PLAN_FORMAT, PLAN_FORMAT_VERSION, majorOf, type PlanHeader } from '../../src/plan-file/header.js';
import { planEntries, readPlanFile } from '../../src/plan-file/reader.js';
import { PlanFileWriter } from '../../src/plan-file/writer.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('stepcfg-plan-unit-');
let files = 0;
const freshFile = () => join(dir(), `${files++}.plan`);

const step = (uid: string, row: string): Entry => ({ kind: 's', uid, version: '1', row, result: null });
const workflow = (uid: string, row: string, result: string | null): Entry => ({
  kind: 'w',
  uid,
  version: '1',
  row,
  result,
});

const HEADER: PlanHeader = {
  format: PLAN_FORMAT,
  formatVersion: PLAN_FORMAT_VERSION,
  kind: 'fold',
  toolVersion: '0.1.0',
  createdAt: '2026-01-01T00:00:00.000Z',
  database: { dialect: 'sqlite', url: 'x.db', location: '/x.db' },
  tables: { schema: null, step: 'step_configuration', workflow: 'workflow' },
  policy: {
    onConflict: 'fail',
    skipInvalid: false,
    strict: false,
    dropTable: false,
    orphansOut: null,
    ifExists: false,
  },
};

function writePlan(entries: Entry[]): string {
  const file = freshFile();
  const writer = new PlanFileWriter(file, HEADER);
  for (const e of entries) writer.add(e);
  writer.finish({ summary: { stepRows: entries.length } });
  return file;
}

describe('row fingerprints', () => {
  it('tell NULL from an empty text, and a column the table lacks from both', () => {
    expect(fingerprint([null])).not.toBe(fingerprint(['']));
    expect(fingerprint([undefined])).not.toBe(fingerprint([null]));
    expect(fingerprint([undefined])).not.toBe(fingerprint(['']));
  });

  it('frame each value by its length: no two sequences of texts meet', () => {
    expect(fingerprint(['ab', 'c'])).not.toBe(fingerprint(['a', 'bc']));
    expect(fingerprint(['a', ''])).not.toBe(fingerprint(['', 'a']));
    expect(fingerprint(['S1:a'])).not.toBe(fingerprint(['a', 'a']));
    // Lengths in bytes: a text of one 3-byte character is not three one-byte characters.
    expect(fingerprint(['€', 'x'])).not.toBe(fingerprint(['€x']));
  });

  it('are stable, 128 bits in base64url', () => {
    expect(fingerprint(['a', null])).toBe(fingerprint(['a', null]));
    expect(fingerprint(['a'])).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('of a step row cover every column read: a change in any one shows', () => {
    const row = { uid: 'u', version: '1', name: 'n', workflowId: 'w', created: 'c', spec: '{}', description: null };
    const base = stepFingerprint(row);
    for (const [k, v] of Object.entries({ name: 'm', workflowId: null, created: 'd', spec: '{ }', description: '' })) {
      expect(stepFingerprint({ ...row, [k]: v })).not.toBe(base);
    }
    expect(stepFingerprint({ ...row, agentId: null })).not.toBe(base);
  });

  it('of a spec to write: none (null) differs from writing SQL NULL', () => {
    expect(specFingerprint(undefined)).toBeNull();
    expect(specFingerprint(null)).not.toBeNull();
    expect(specFingerprint(null)).not.toBe(specFingerprint(''));
  });
});

describe('the digest of the entries', () => {
  const entries = [step('a', 'x'), step('b', 'y'), workflow('w', 'z', 'r'), workflow('v', 'z', null)];

  it('does not depend on the order they were read in', () => {
    const one = new Digest();
    const other = new Digest();
    for (const e of entries) one.add(e);
    for (const e of [...entries].reverse()) other.add(e);
    expect(one.value).toBe(other.value);
    expect(one.count).toBe(4);
  });

  it('changes with any entry, its spec to write included', () => {
    const base = new Digest();
    for (const e of entries) base.add(e);
    const changed = new Digest();
    for (const e of entries) changed.add(e.uid === 'v' ? { ...e, result: 'r' } : e);
    expect(changed.value).not.toBe(base.value);
    expect(base.value).toMatch(/^[0-9a-f]{32}$/);
  });

  it('entries read back as written', () => {
    for (const e of entries) expect(entryOf(JSON.parse(entryLine(e)))).toEqual(e);
    expect(entryOf(['s', 'a', '1'])).toBeUndefined();
    expect(entryOf(['x', 'a', '1', 'r'])).toBeUndefined();
  });
});

describe('plan files', () => {
  it('are written whole with mode 0600 and read back with their entries', async () => {
    const entries = [step('a', 'x'), workflow('w', 'z', 'r')];
    const file = writePlan(entries);
    const loaded = await readPlanFile(file, '0.1.9');
    expect(loaded.header).toEqual(HEADER);
    expect(loaded.trailer.entries).toBe(2);
    const read: Entry[] = [];
    for await (const e of planEntries(file)) read.push(e);
    expect(read).toEqual(entries);
  });

  it('one changed byte, a cut, a line added: damaged', async () => {
    const file = writePlan([step('a', 'xxxxxxxx'), step('b', 'yyyyyyyy')]);
    const text = readFileSync(file, 'utf8');
    for (const damaged of [
      text.replace('xxxxxxxx', 'xxxxxxxz'),
      text.slice(0, -40),
      text.replace('["s","b"', '["s","c","1","q"]\n["s","b"'),
      text + '\n',
    ]) {
      const copy = freshFile();
      writeFileSync(copy, damaged);
      await expect(readPlanFile(copy, '0.1.0')).rejects.toThrow(/is damaged/);
    }
  });

  it('another major version, another format version, not a plan: refused with what to do', async () => {
    const file = writePlan([]);
    await expect(readPlanFile(file, '0.2.0')).rejects.toThrow(/another major version/);
    await expect(readPlanFile(file, '1.0.0')).rejects.toThrow(/another major version/);
    const newer = freshFile();
    writeFileSync(newer, readFileSync(file, 'utf8').replace('"formatVersion":1', '"formatVersion":2'));
    await expect(readPlanFile(newer, '0.1.0')).rejects.toThrow(/plan format 2/);
    const other = freshFile();
    writeFileSync(other, '{"hello": 1}\n');
    await expect(readPlanFile(other, '0.1.0')).rejects.toThrow(/not a plan file/);
    expect(majorOf('0.3.1')).toBe('0.3');
    expect(majorOf('2.3.1')).toBe('2');
  });
});

describe('the differences from a plan', () => {
  async function* from(list: Entry[]) {
    yield* list;
  }

  it('list rows added, removed and changed by key, and the specs to write that differ', async () => {
    const planned = [step('kept', 'a'), step('gone', 'b'), step('edited', 'c'), workflow('w', 'x', 'old')];
    const now = [step('kept', 'a'), step('new', 'd'), step('edited', 'C'), workflow('w', 'x', 'new')];
    const diff = await planDiff(from(planned), async (add) => now.forEach(add));
    const keys = (uid: string) => ({ count: 1, keys: [{ uid, version: '1' }] });
    const none = { count: 0, keys: [] };
    expect(diff.stepRows).toEqual({ added: keys('new'), removed: keys('gone'), changed: keys('edited') });
    expect(diff.workflowRows).toEqual({ added: none, removed: none, changed: none });
    expect(diff.results).toEqual(keys('w'));
  });

  it('a workflow row gone that the plan wrote: removed, and its result differs', async () => {
    const diff = await planDiff(from([workflow('w', 'x', 'new')]), async () => undefined);
    expect(diff.workflowRows.removed.keys).toEqual([{ uid: 'w', version: '1' }]);
    expect(diff.results.count).toBe(1);
  });
});
