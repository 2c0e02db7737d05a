import { describe, expect, it } from 'vitest';
import { writtenHash } from '../../src/migrate/bookkeeping.js';
import { editedKeys } from '../../src/migrate/drift.js';

const ORIGINAL = '{"branch": "main", "type": "x", "step_configurations": [{"name": "a"}]}';
const WRITTEN = '{"branch": "main", "type": "x", "step_configurations": [{"name": "a"}, {"name": "b"}]}';

describe('editedKeys: the spec keys that differ between what a run wrote and the spec now', () => {
  for (const keepsText of [true, false]) {
    const hash = writtenHash(WRITTEN, keepsText);
    const label = keepsText ? 'text fingerprint' : 'canonical fingerprint';

    it(`names edited, added and removed keys, not the untouched array (${label})`, () => {
      const now = '{"branch": "dev", "step_configurations": [{"name": "a"}, {"name": "b"}], "extra": 1}';
      expect(editedKeys(now, ORIGINAL, hash)).toEqual(['branch', 'extra', 'type']);
    });

    it(`names step_configurations when the array changed or is gone (${label})`, () => {
      const changed = '{"branch": "main", "type": "x", "step_configurations": [{"name": "a"}]}';
      expect(editedKeys(changed, ORIGINAL, hash)).toEqual(['step_configurations']);
      expect(editedKeys('{"branch": "main", "type": "x"}', ORIGINAL, hash)).toEqual(['step_configurations']);
    });

    it(`a spec rewritten compactly with the same content differs in no key (${label})`, () => {
      const compact = JSON.stringify(JSON.parse(WRITTEN));
      expect(editedKeys(compact, ORIGINAL, hash)).toEqual([]);
    });
  }

  it('a spec that was NULL: the run wrote an object holding only the array', () => {
    const written = '{"step_configurations": [{"name": "a"}]}';
    expect(editedKeys('{"step_configurations": [{"name": "a"}], "x": 1}', null, writtenHash(written, true))).toEqual([
      'x',
    ]);
  });

  it('a spec that is no longer an object differs in every key', () => {
    expect(editedKeys(null, ORIGINAL, writtenHash(WRITTEN, true))).toEqual(['branch', 'type', 'step_configurations']);
  });
});
