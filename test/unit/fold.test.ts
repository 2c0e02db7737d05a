import { describe, expect, it } from 'vitest';
import { GroupPlanner, type PlanDetail } from '../../src/core/fold.js';
import { StepReader } from '../../src/core/step-item.js';
import type { OnConflict, StepRow, WorkflowRow } from '../../src/core/types.js';

/** One group planned by a planner of its own. */
function planWorkflowGroup(workflows: WorkflowRow[], steps: StepRow[], onConflict: OnConflict, detail?: PlanDetail) {
  return new GroupPlanner(onConflict, detail).plan(workflows, steps);
}
/** One reader for every test, as a run reads all its rows with one. */
const reader = new StepReader();

let seq = 0;
function step(name: string, spec: string | null, extra: Partial<StepRow> = {}): StepRow {
  seq++;
  return {
    uid: `s${seq}`,
    version: '1',
    name,
    workflowId: 'w1',
    created: `2024-01-01 00:00:00.${String(seq).padStart(6, '0')}`,
    spec,
    ...extra,
  };
}
const wf = (spec: string | null, version = '1'): WorkflowRow => ({ uid: 'w1', version, name: `wf-${version}`, spec });
const spec = (o: object) => JSON.stringify(o);

describe('StepReader.read', () => {
  it('builds the item from the column name and the spec, with defaults', () => {
    const r = reader.read(step('cfg', '{"step_name": "LLM", "evaluations": []}'));
    expect(r).toMatchObject({
      item: { text: '{"name": "cfg", "step_name": "LLM", "branch": "default", "kwargs": {}}' },
    });
  });

  it('keeps the literal text of kwargs and an empty branch', () => {
    const r = reader.read(
      step('n', '{"kwargs": {"b": 1.0, "a": 12345678901234567890}, "branch": "", "step_name": "S"}'),
    );
    expect(r).toMatchObject({
      item: { text: '{"name": "n", "step_name": "S", "branch": "", "kwargs": {"b": 1.0, "a": 12345678901234567890}}' },
    });
  });

  it.each([
    [null, 'spec is NULL'],
    ['{"step_name": ', 'spec is not valid JSON'],
    ['[1]', 'spec is an array, not a JSON object'],
    ['null', 'spec is null, not a JSON object'],
    ['{"branch": "x"}', 'spec.step_name is missing'],
    ['{"step_name": 3}', 'spec.step_name is a number, not a string'],
    ['{"step_name": "S", "branch": 1}', 'spec.branch is a number, not a string'],
    ['{"step_name": "S", "kwargs": [1]}', 'spec.kwargs is an array, neither an object nor null'],
  ])('names why %j is invalid', (text, reason) => {
    const r = reader.read(step('n', text));
    expect('reason' in r && r.reason).toContain(reason);
  });

  it('warns about copies in spec that disagree with their columns', () => {
    const r = reader.read(step('real', '{"step_name": "S", "name": "stale", "workflow_id": "w1", "uid": 5}'));
    expect(r.warnings.map((w) => w.field)).toEqual(['uid', 'name']);
  });
});

describe('planWorkflowGroup', () => {
  it('appends items after existing ones, ordered by created then name', () => {
    const rows = [
      step('b', spec({ step_name: 'B' }), { created: '2024-01-01 00:00:00.000002' }),
      step('a', spec({ step_name: 'A' }), { created: '2024-01-01 00:00:00.000002' }),
      step('z', spec({ step_name: 'Z' }), { created: '2024-01-01 00:00:00.000001' }),
    ];
    const plan = planWorkflowGroup(
      [wf('{"branch": "main", "step_configurations": [{"name": "old"}], "x": 1}')],
      rows,
      'fail',
    );
    expect(plan.updates).toHaveLength(1);
    expect(plan.updates[0]!.added).toEqual(['z', 'a', 'b']);
    expect(plan.updates[0]!.newSpec).toBe(
      '{"branch": "main", "step_configurations": [{"name": "old"}, ' +
        '{"name": "z", "step_name": "Z", "branch": "default", "kwargs": {}}, ' +
        '{"name": "a", "step_name": "A", "branch": "default", "kwargs": {}}, ' +
        '{"name": "b", "step_name": "B", "branch": "default", "kwargs": {}}], "x": 1}',
    );
    expect(plan.outcomes.map((o) => o.outcome)).toEqual(['folded', 'folded', 'folded']);
  });

  it('adds the key at the end of a spec without it, and makes {} of NULL and null', () => {
    const rows = [step('a', spec({ step_name: 'A' }))];
    const item = '{"name": "a", "step_name": "A", "branch": "default", "kwargs": {}}';
    expect(planWorkflowGroup([wf('{"b": 2, "a": 1}')], rows, 'fail').updates[0]!.newSpec).toBe(
      `{"b": 2, "a": 1, "step_configurations": [${item}]}`,
    );
    expect(planWorkflowGroup([wf('{}')], rows, 'fail').updates[0]!.newSpec).toBe(`{"step_configurations": [${item}]}`);
    expect(planWorkflowGroup([wf(null)], rows, 'fail').updates[0]!.newSpec).toBe(`{"step_configurations": [${item}]}`);
    expect(planWorkflowGroup([wf('null')], rows, 'fail').updates[0]!.newSpec).toBe(
      `{"step_configurations": [${item}]}`,
    );
    expect(planWorkflowGroup([wf('{"step_configurations": []}')], rows, 'fail').updates[0]!.newSpec).toBe(
      `{"step_configurations": [${item}]}`,
    );
  });

  it('folds into every version row of the workflow, counting the row once', () => {
    const plan = planWorkflowGroup([wf('{}', '1'), wf('{}', '2')], [step('a', spec({ step_name: 'A' }))], 'fail');
    expect(plan.updates.map((u) => u.version)).toEqual(['1', '2']);
    expect(plan.outcomes).toHaveLength(1);
    expect(plan.outcomes[0]!.outcome).toBe('folded');
  });

  it('is idempotent: an identical item (any key order or number form) is unchanged', () => {
    const existing =
      '{"step_configurations": [{"kwargs": {"t": 1}, "branch": "default", "step_name": "A", "name": "a"}]}';
    const plan = planWorkflowGroup([wf(existing)], [step('a', '{"step_name": "A", "kwargs": {"t": 1.0}}')], 'fail');
    expect(plan.updates).toEqual([]);
    expect(plan.outcomes[0]!.outcome).toBe('unchanged');
  });

  it('finds its own items unchanged on a re-run, in a pass that writes and in a dry run alike', () => {
    const rows = [
      step('plain', '{"step_name": "A", "branch": "b", "kwargs": {"x": [1, 2.50], "y": "\\u00e9"}}'),
      step('spaced', '{"step_name":"B","kwargs":{ "z" :1}}'), // its item is written by the exact writer
      step('na"me', '{"step_name": "C", "kwargs": null, "branch": null}'),
    ];
    const first = planWorkflowGroup([wf('{"a": 1}')], rows, 'fail').updates[0]!.newSpec;
    for (const detail of [
      { texts: true, order: true },
      { texts: false, order: false },
    ]) {
      const again = planWorkflowGroup([wf(first)], rows, 'fail', detail);
      expect(again.outcomes.map((o) => o.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged']);
      // One changed byte in an item's kwargs is a conflict, found by either pass.
      const edited = planWorkflowGroup([wf(first.replace('2.50', '2.51'))], rows, 'fail', detail);
      expect(edited.conflicts.map((c) => c.name)).toEqual(['plain']);
    }
  });

  it('handles a conflict as --on-conflict says', () => {
    const existing =
      '{"step_configurations": [{"name": "a", "step_name": "A", "branch": "default", "kwargs": {"t": 2}}, {"name": "k"}]}';
    const rows = () => [step('a', '{"step_name": "A", "kwargs": {"t": 1}}')];
    const fail = planWorkflowGroup([wf(existing)], rows(), 'fail');
    expect(fail.conflicts[0]).toMatchObject({ workflowUid: 'w1', name: 'a', resolution: 'blocking' });
    expect(fail.outcomes[0]!.outcome).toBe('conflict');

    const keep = planWorkflowGroup([wf(existing)], rows(), 'keep');
    expect(keep.conflicts[0]!.resolution).toBe('kept');
    expect(keep.updates).toEqual([]);

    const replace = planWorkflowGroup([wf(existing)], rows(), 'replace');
    expect(replace.outcomes[0]!.outcome).toBe('folded');
    expect(replace.updates[0]!.replaced).toEqual(['a']);
    expect(replace.updates[0]!.newSpec).toBe(
      '{"step_configurations": [{"name": "a", "step_name": "A", "branch": "default", "kwargs": {"t": 1}}, {"name": "k"}]}',
    );
  });

  it('splices into specs the scanner reads (no array yet) exactly as into those the parser reads', () => {
    const rows = [step('a', spec({ step_name: 'A' }))];
    const item = '{"name": "a", "step_name": "A", "branch": "default", "kwargs": {}}';
    const cases: [string, string][] = [
      // read by the scanner: an object without the key
      [
        ' \n{"b": [1, {"c": {}}] ,"a":1e5 }\t',
        ` \n{"b": [1, {"c": {}}] ,"a":1e5, "step_configurations": [${item}] }\t`,
      ],
      [' { } ', ` {"step_configurations": [${item}]} `],
      ['{"s": {"step_configurations": 1}}', `{"s": {"step_configurations": 1}, "step_configurations": [${item}]}`],
      // left to the parser: an escaped key (here the array itself), Python's NaN
      ['{"step\\u005fconfigurations": []}', `{"step\\u005fconfigurations": [${item}]}`],
      ['{"n": NaN}', `{"n": NaN, "step_configurations": [${item}]}`],
    ];
    for (const [original, expected] of cases) {
      expect(planWorkflowGroup([wf(original)], rows, 'fail').updates[0]!.newSpec).toBe(expected);
    }
    for (const bad of ['{"a": 1} x', '{"a": 1,}', '[{}]']) {
      expect(planWorkflowGroup([wf(bad)], rows, 'fail').invalid).toHaveLength(1);
    }
  });

  it('makes every row of a workflow with an unusable spec invalid', () => {
    for (const bad of ['"oops"', '{"step_configurations": {}}', '{"a": ']) {
      const plan = planWorkflowGroup([wf(bad)], [step('a', spec({ step_name: 'A' }))], 'fail');
      expect(plan.invalid).toHaveLength(1);
      expect(plan.invalid[0]!.reason).toMatch(/^workflow w1/);
      expect(plan.updates).toEqual([]);
    }
  });

  it('makes two rows with the same name for one workflow invalid, and folds the others', () => {
    const plan = planWorkflowGroup(
      [wf('{}')],
      [
        step('dup', spec({ step_name: 'A' })),
        step('dup', spec({ step_name: 'B' })),
        step('ok', spec({ step_name: 'C' })),
      ],
      'fail',
    );
    expect(plan.invalid.map((i) => i.name)).toEqual(['dup', 'dup']);
    expect(plan.updates[0]!.added).toEqual(['ok']);
  });

  it('counts an invalid row with the same name as a duplicate too', () => {
    const plan = planWorkflowGroup([wf('{}')], [step('same', '{bad'), step('same', spec({ step_name: 'A' }))], 'fail');
    expect(plan.invalid.map((i) => i.reason)).toEqual([
      expect.stringContaining('not valid JSON'),
      expect.stringContaining('same name'),
    ]);
    expect(plan.updates).toEqual([]);
  });

  it('writes item values as json.dumps does, whatever the spacing of the source', () => {
    const plan = planWorkflowGroup(
      [wf('{}')],
      [step('a', '{"step_name":"S","kwargs":{ "x" :1.50,"u":"\\u00e9é" }}')],
      'fail',
    );
    expect(plan.updates[0]!.newSpec).toBe(
      '{"step_configurations": [{"name": "a", "step_name": "S", "branch": "default", "kwargs": {"x": 1.50, "u": "\\u00e9\\u00e9"}}]}',
    );
  });

  it('copies untouched bytes of the workflow spec exactly', () => {
    const original =
      '{"z": "caf\\u00e9",  "n": 1.50, "s": {"step_configurations": 1}, "step_configurations": [ {"name":"x"} ]}';
    const plan = planWorkflowGroup([wf(original)], [step('a', spec({ step_name: 'A' }))], 'fail');
    expect(plan.updates[0]!.newSpec).toBe(
      '{"z": "caf\\u00e9",  "n": 1.50, "s": {"step_configurations": 1}, "step_configurations": [ {"name":"x"}, ' +
        '{"name": "a", "step_name": "A", "branch": "default", "kwargs": {}} ]}',
    );
  });
});

describe('GroupPlanner', () => {
  it('plans group after group as a planner of its own plans each', () => {
    const rows = [
      step('plain', '{"step_name": "A", "branch": "b", "kwargs": {"x": [1, 2.50], "y": "\\u00e9"}}'),
      step('spaced', '{"step_name":"B","kwargs":{ "z" :1}}'),
      step('na"me', '{"step_name": "C", "kwargs": null, "branch": null}'),
    ];
    const first = planWorkflowGroup([wf('{"a": 1}')], rows, 'fail').updates[0]!.newSpec;
    const groups: [WorkflowRow[], StepRow[]][] = [
      [[wf('{"a": 1}')], rows],
      [[wf(first), wf('{}', '2')], rows], // a re-run: the items are there
      [[wf(first.replace('2.50', '2.51'))], rows], // a conflict
      [[wf('{"x": 1}')], [step('full', '{"step_name": "E", "branch": "x", "kwargs": {"q": 1}}')]],
      [[wf('{"x": 1}')], [step('lone', '{"step_name": "D"}')]], // no branch nor kwargs after a row with them
      [[wf('{"step_configurations": [{"name": "a"}, {"name": "a"}]}')], [step('a', spec({ step_name: 'A' }))]],
      [[wf('{}'), wf('{bad', '2')], rows],
      [[wf(null)], [step('same', '{bad'), step('same', spec({ step_name: 'A' })), step('n', '{"step_name": NaN}')]],
    ];
    for (const detail of [
      { texts: true, order: true },
      { texts: false, order: false },
    ]) {
      for (const onConflict of ['fail', 'keep', 'replace'] as const) {
        const planner = new GroupPlanner(onConflict, detail);
        for (const [workflows, steps] of [...groups, ...groups]) {
          expect(planner.plan(workflows, steps)).toEqual(planWorkflowGroup(workflows, steps, onConflict, detail));
        }
      }
    }
  });
});

describe('the quick reading of a step row agrees with the exact one', () => {
  it.each([
    '{"step_name": "S"}',
    '{"step_name": "S", "branch": null, "kwargs": null}',
    '{"step_name": "S", "branch": "b", "kwargs": {"a": [1, 2.0, {"b": null}], "c": "d"}}',
    '{"step_name":"S","kwargs":{"a":1}}',
    '{"step_name": "S", "kwargs": {"a": 1, "a": 2}}',
    '{"step_name": "S", "kwargs": {"x": {"a": 1, "a": 2}}}',
    '{"step_name": "S", "kwargs": {"a": {"b": 1}, "b": {"a": 1}}}',
    '{"step_name": "S", "kwargs": {"\\u0061": 1, "a": 2}}',
    '{"step_name": "S", "kwargs": {"u": "\\u00e9\\n\\"", "v": "\\/"}}',
    '{"step_name": "S", "kwargs": {"u": "\\u00E9"}}',
    '{"step_name": "S", "kwargs": {"u": "é"}}',
    '{"step_name": "S", "kwargs": { "a": 1}}',
    '{"step_name": "S", "kwargs": {"a" : 1}}',
    '{"step_name": "S\\u0041"}',
    '{"step_name": "S", "kwargs": {"a": NaN}}',
    '{"step_name": "S", "branch": 1}',
    '{"step_name": "S", "kwargs": []}',
    '{"step_name": 1}',
    '{"branch": "x"}',
    '{"step_name": "S", "name": "n"}',
    '{"step_name": "S", "name": "other"}',
    '{"step_name": "S", "name": null}',
    '{"step_name": "S", "uid": "u-n"}',
    '{"step_name": "S", "workflow_id": 5}',
    '{"step_name": "S", "name": "\\u006e"}',
    '{"st\\u0065p_name": "S"}',
    '{"step_name": "S", "step_name": 3}',
    '{"step_name": 3, "step_name": "S"}',
    '{"step_name": "S"',
    '[]',
  ])('%s', (spec) => {
    const row = { ...step('n', spec), uid: 'u-n' };
    const exact = reader.exactRead(row);
    for (const quick of [reader.read(row, false), reader.read(row, true)]) {
      expect('reason' in quick ? quick.reason : 'valid').toBe('reason' in exact ? exact.reason : 'valid');
      expect(quick.warnings).toEqual(exact.warnings);
      if ('item' in quick && 'item' in exact) {
        expect(quick.item.text).toBe(exact.item.text);
        expect(quick.item.canonical()).toBe(exact.item.canonical());
      }
    }
  });
});
