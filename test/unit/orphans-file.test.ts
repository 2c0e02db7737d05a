import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeOrphansFile, type LeftRow } from '../../src/migrate/orphans-file.js';
import { removeSpillFiles, SpillingList } from '../../src/migrate/spill-list.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'orphans-file-test-'));
afterAll(() => {
  removeSpillFiles();
  rmSync(dir, { recursive: true, force: true });
});

const row = (i: number): LeftRow => ({
  reason: i % 2 === 0 ? 'orphan: no-workflow-id' : 'conflict kept: same name',
  columns: { uid: `s-${i}`, version: '1', name: `step ${i} é 𝄞 "q"`, spec: i % 3 === 0 ? null : '{"a":[1,2]}' },
  labels: i % 4 === 0 ? [] : [{ parent: `step ${i}`, name: 'k', value: `v\n${i}` }],
});

describe('the --orphans-out file', () => {
  it('holds exactly the pretty JSON of its content, its rows read back from a spilled list', () => {
    for (const n of [0, 1, 5, 3_000]) {
      const list = new SpillingList<LeftRow>(2);
      const rows = Array.from({ length: n }, (_, i) => row(i));
      for (const r of rows) list.add(r);
      const head = { formatVersion: 1, runId: 'r1', database: 'x.db', stepTable: 'step_configuration' };
      const file = path.join(dir, `left-${n}.json`);
      writeOrphansFile(file, { ...head, count: list.length, rows: list });
      expect(readFileSync(file, 'utf8')).toBe(JSON.stringify({ ...head, count: n, rows }, null, 2) + '\n');
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
  });
});
