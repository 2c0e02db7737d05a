import { describe, expect, it } from 'vitest';
import { describeProgress } from '../../src/cli/progress.js';

describe('the progress line', () => {
  it('shows rows done, the rate since the phase began, and the time left at that rate', () => {
    const line = describeProgress({ phase: 'planning', rowsDone: 250_000, rowsTotal: 1_000_000 }, 2.5);
    expect(line).toBe('planning: 250,000/1,000,000 step rows · 100,000 rows/s · ETA 8 s');
  });

  it('gives minutes for long waits, no ETA when done, and no rate before there is one', () => {
    expect(describeProgress({ phase: 'planning', rowsDone: 1_000, rowsTotal: 1_000_000 }, 10)).toContain(
      'ETA 2 h 46 min',
    );
    expect(describeProgress({ phase: 'planning', rowsDone: 10_000, rowsTotal: 100_000 }, 1)).toContain('ETA 9 s');
    expect(describeProgress({ phase: 'planning', rowsDone: 50_000, rowsTotal: 500_000 }, 50)).toContain(
      'ETA 7 min 30 s',
    );
    expect(describeProgress({ phase: 'planning', rowsDone: 10, rowsTotal: 10 }, 1)).toBe(
      'planning: 10/10 step rows · 10 rows/s',
    );
    expect(describeProgress({ phase: 'planning', rowsDone: 0, rowsTotal: 10 }, 0.1)).toBe('planning: 0/10 step rows');
  });

  it('names the set-based write at the end by its workflow rows', () => {
    expect(describeProgress({ phase: 'writing', rowsDone: 10, rowsTotal: 10, workflows: 12_345 }, 0)).toBe(
      'writing: 12,345 workflow rows and their backups',
    );
  });
});
