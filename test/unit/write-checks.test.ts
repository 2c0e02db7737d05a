import { describe, expect, it } from 'vitest';
import { capabilitiesOf } from '../../src/dialect/capabilities.js';
import { expectWritten, sameRows } from '../../src/migrate/write-checks.js';

describe('the judgement of a write', () => {
  it('passes when every statement wrote exactly the rows it was given', () => {
    expect(() => expectWritten(3, [3, 3])).not.toThrow();
  });

  it('refuses a count off either way, and a count the driver did not report', () => {
    for (const written of [[2, 3], [3, 4], [null]]) {
      expect(() => expectWritten(3, written)).toThrow('workflow rows changed during the run; nothing was written');
    }
  });

  it("accepts a drop only while the step table holds the plan's rows", () => {
    const guard = sameRows({ table: 'step_configuration' }, 10);
    expect(guard.accepts(10)).toBe(true);
    expect(guard.accepts(11)).toBe(false);
  });
});

describe('capabilities', () => {
  it('are known for every dialect without a connection', () => {
    expect(capabilitiesOf('sqlite')).toMatchObject({ hasSchemas: false, fileBackup: true, lockRunIsSeparate: false });
    expect(capabilitiesOf('postgres')).toMatchObject({ hasSchemas: true, transactionalDdl: true, stableWrites: false });
    expect(capabilitiesOf('mysql')).toMatchObject({ hasSchemas: true, transactionalDdl: false, fileBackup: false });
  });
});
