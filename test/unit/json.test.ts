import { describe, expect, it } from 'vitest';
import { compareCodePoints } from '../../src/core/code-points.js';
import { parseJson, tryParseJson } from '../../src/core/json/parse.js';
import { JsonScanner, quickMembers } from '../../src/core/json/scan.js';
import { getMember, sourceOf, type JsonObject } from '../../src/core/json/tree.js';
import { canonicalJson, canonicalNumber, pyJsonDumps, pyJsonString } from '../../src/core/json/write.js';

describe('parseJson', () => {
  it('keeps number literals and value offsets', () => {
    const text = '{"a": 1.0, "b": [12345678901234567890, -0.0, 1e400]}';
    const root = parseJson(text) as JsonObject;
    expect(sourceOf(text, getMember(root, 'a')!)).toBe('1.0');
    expect(sourceOf(text, getMember(root, 'b')!)).toBe('[12345678901234567890, -0.0, 1e400]');
  });

  it('reads duplicate keys as Python does: the last wins, all are kept', () => {
    const root = parseJson('{"k": 1, "k": 2}') as JsonObject;
    expect(root.entries).toHaveLength(2);
    expect(getMember(root, 'k')).toMatchObject({ kind: 'number', value: '2' });
  });

  it('keeps __proto__ and constructor as ordinary keys', () => {
    const root = parseJson('{"__proto__": {"x": 1}, "constructor": 2}') as JsonObject;
    expect(root.entries.map((e) => e.key)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('decodes escapes, including surrogate pairs', () => {
    const node = parseJson('"caf\\u00e9 \\ud83d\\ude00 \\n\\"\\\\"');
    expect(node).toMatchObject({ kind: 'string', value: 'café 😀 \n"\\' });
  });

  it('accepts NaN and Infinity as Python writes them', () => {
    expect(parseJson('[NaN, -Infinity]')).toMatchObject({
      kind: 'array',
      items: [{ value: 'NaN' }, { value: '-Infinity' }],
    });
  });

  it('parses nesting 10,000 deep without exhausting the stack', () => {
    const text = '['.repeat(10_000) + ']'.repeat(10_000);
    expect(parseJson(text).kind).toBe('array');
    expect(canonicalJson(parseJson(text))).toBe(text);
  });

  it.each(['', '{', '{"a":}', '[1,]', '{"a":1,}', "{'a': 1}", '{"a": 1} x', '01', '"\u0001"', 'nul'])(
    'rejects %j',
    (text) => {
      expect(tryParseJson(text)).toHaveProperty('error');
    },
  );
});

describe('pyJsonString', () => {
  it('writes like json.dumps with ensure_ascii', () => {
    expect(pyJsonString('café "q" \\ \n \u0001 \u007f 中 😀')).toBe(
      '"caf\\u00e9 \\"q\\" \\\\ \\n \\u0001 \\u007f \\u4e2d \\ud83d\\ude00"',
    );
  });
});

describe('canonical forms', () => {
  it('compares numbers by value as Python does', () => {
    expect(canonicalNumber('1.0')).toBe(canonicalNumber('1'));
    expect(canonicalNumber('1e2')).toBe(canonicalNumber('100'));
    expect(canonicalNumber('-0.0')).toBe(canonicalNumber('0'));
    expect(canonicalNumber('12345678901234567890')).not.toBe(canonicalNumber('12345678901234567891'));
  });

  it('ignores key order and whitespace, not values', () => {
    const a = canonicalJson(parseJson('{"a": 1, "b": [1, {"c": null}]}'));
    expect(canonicalJson(parseJson('{"b":[1,{"c":null}],"a":1.0}'))).toBe(a);
    expect(canonicalJson(parseJson('{"b":[{"c":null},1],"a":1}'))).not.toBe(a);
  });
});

describe('compareCodePoints', () => {
  it('orders by code point, not UTF-16 unit or locale', () => {
    const names = ['é', 'a', 'B', '😀', '\uff21'];
    expect([...names].sort(compareCodePoints)).toEqual(['B', 'a', 'é', '\uff21', '😀']);
  });
});

describe('pyJsonDumps', () => {
  it('writes like json.dumps after json.loads, keeping number literals', () => {
    const text = '{"b":1.0,"a" : [ 1e400 ,"\\/é"],"k":1,"k":2,"e":{ }, "big": 12345678901234567890}';
    expect(pyJsonDumps(parseJson(text))).toBe(
      '{"b": 1.0, "a": [1e400, "/\\u00e9"], "k": 2, "e": {}, "big": 12345678901234567890}',
    );
  });
});

describe('quickMembers (the no-allocation check of a dry run)', () => {
  const valid = (text: string) => 'node' in tryParseJson(text);
  const corpus = [
    '{}',
    ' { } ',
    '{"a": 1}',
    '{"a":1,"b":[1,2,{"c":null}],"d":{"e":[[]]}}',
    '{"s": "x\\"y\\\\z\\u00e9\\n", "n": -0.5e+10, "t": true, "f": false, "z": null}',
    '{"a": 1,}',
    '{"a" 1}',
    '{"a": [1,]}',
    '{"a": [1 2]}',
    '{"a": {"b": 1,}}',
    '{"a": 01}',
    '{"a": 1.}',
    '{"a": .5}',
    '{"a": -}',
    '{"a": 1e}',
    '{"a": "\\x"}',
    '{"a": "\\u12G4"}',
    '{"a": "tab\there"}',
    '{"a": NaN}',
    '{"a": -Infinity}',
    '{"a": tru}',
    '{"a": 1} x',
    '{"a": 1}}',
    '{"a": [}',
    '{"a": {]}',
    '[1]',
    '"x"',
    '',
    '{',
    '{"a": "unterminated}',
    '{"\\u0061": 1}',
    '{"a": 1, "a": 2}',
    '\ufeff{}',
    '{"a": ' + '['.repeat(5000) + ']'.repeat(5000) + '}',
    '{"a": ' + '['.repeat(5000) + ']'.repeat(4999) + '}',
  ];

  it.each(corpus.map((t) => [t.length > 60 ? `${t.slice(0, 40)}… (${t.length} chars)` : t, t]))(
    'never accepts what the exact parser rejects: %j',
    (_label, text) => {
      const quick = quickMembers(text);
      if (quick !== undefined) expect(valid(text)).toBe(true);
      // and accepts plain JSON objects without NaN or escaped keys
      if (valid(text) && text.trim().startsWith('{') && !/NaN|Infinity|"\\u0061"/.test(text))
        expect(quick).toBeDefined();
    },
  );

  it('lists top-level members with their kinds and places, repeated keys included', () => {
    const text = '{"step_name": "S", "kwargs": {"a": [1]}, "branch": null, "step_name": "T\\n"}';
    expect(quickMembers(text)).toEqual([
      { key: 'step_name', kind: 'string', start: 14, end: 17, escaped: false },
      { key: 'kwargs', kind: 'object', start: 29, end: 39, escaped: false },
      { key: 'branch', kind: 'null', start: 51, end: 55, escaped: false },
      { key: 'step_name', kind: 'string', start: 70, end: 75, escaped: true },
    ]);
  });
});

describe('JsonScanner', () => {
  const STEP_KEYS = new Set(['step_name', 'branch', 'kwargs']);
  const TARGET_KEYS = new Set(['step_configurations']);
  const NAME_KEYS = new Set(['name']);
  const steps = [
    '{"step_name": "S", "kwargs": {"a": [1]}, "branch": null, "step_name": "T\\n"}',
    '{"x": 1}',
    '{"kwargs": {}, "y": [1, 2, 3], "branch": "b"}',
    '{"step_name": NaN}',
    ' {"branch": "main", "kwargs": {"k": {"step_name": "inner"}}} ',
  ];
  const workflows = [
    '{"step_configurations": [{"name": "a"}, {"x": 1, "name": "b\\"c"}, 5, {"name": "d", "name": "e"}], "z": {}}',
    '{"a": 1, "step_configurations": []}',
    '{"step_configurations": [{"name": "a"}, {"name": 1}, []]}',
    '{"step_configurations": [1,]}',
    '{}',
  ];

  /** Reads a step spec as the fold does, pausing after the scan (before its records are read). */
  function* readStep(scanner: JsonScanner, text: string) {
    const count = scanner.scanMembers(text, STEP_KEYS);
    yield;
    const members = scanner.members.slice(0, Math.max(count, 0)).map((m) => ({ ...m }));
    return { count, members, object: count < 0 ? undefined : { ...scanner.object } };
  }

  /** Reads a workflow spec as the fold does, pausing after each scan: its members, then its array's elements. */
  function* readWorkflow(scanner: JsonScanner, text: string) {
    const count = scanner.scanMembers(text, TARGET_KEYS);
    yield;
    const object = count < 0 ? undefined : { ...scanner.object };
    const array = count === 1 && scanner.members[0]!.kind === 'array' ? { ...scanner.members[0]! } : undefined;
    if (array === undefined) return { count, object };
    const itemCount = scanner.scanItems(text, array.start, array.end, NAME_KEYS);
    yield;
    const items = scanner.items
      .slice(0, Math.max(itemCount, 0))
      .map((i) => ({ ...i, member: i.member && { ...i.member } }));
    return { count, object, array, itemCount, items };
  }

  function alone<T>(job: Generator<void, T>): T {
    for (;;) {
      const step = job.next();
      if (step.done) return step.value;
    }
  }

  /** Runs two jobs a step each in turn: each scan of one comes between a scan of the other and the reading of its records. */
  function inTurn<T, U>(x: Generator<void, T>, y: Generator<void, U>): [T, U] {
    let rx = x.next();
    let ry = y.next();
    while (!rx.done || !ry.done) {
      if (!rx.done) rx = x.next();
      if (!ry.done) ry = y.next();
    }
    return [rx.value, ry.value];
  }

  it('finds the members of an object, where it is, and the elements of its array', () => {
    const text = workflows[0]!;
    const read = alone(readWorkflow(new JsonScanner(), text));
    expect(read).toMatchObject({ count: 1, object: { start: 0, end: text.length, lastValueEnd: text.length - 1 } });
    expect(read.itemCount).toBe(4);
    expect(read.items!.map((i) => i.kind)).toEqual(['object', 'object', 'number', 'object']);
    // The last member of a wanted key is the one that counts; an escaped string says so.
    expect(read.items!.map((i) => i.member && text.slice(i.member.start, i.member.end))).toEqual([
      '"a"',
      '"b\\"c"',
      undefined,
      '"e"',
    ]);
    expect(read.items!.map((i) => i.member?.escaped)).toEqual([false, true, undefined, false]);
  });

  it('two scanners used in turn give each what it gives alone', () => {
    const a = new JsonScanner();
    const b = new JsonScanner();
    for (const w of workflows) {
      for (const s of steps) {
        expect(inTurn(readWorkflow(a, w), readStep(b, s))).toEqual([
          alone(readWorkflow(new JsonScanner(), w)),
          alone(readStep(new JsonScanner(), s)),
        ]);
        expect(inTurn(readStep(a, s), readWorkflow(b, w))).toEqual([
          alone(readStep(new JsonScanner(), s)),
          alone(readWorkflow(new JsonScanner(), w)),
        ]);
      }
      for (const other of workflows) {
        expect(inTurn(readWorkflow(a, w), readWorkflow(b, other))).toEqual([
          alone(readWorkflow(new JsonScanner(), w)),
          alone(readWorkflow(new JsonScanner(), other)),
        ]);
      }
    }
  });
});
