import { describe, expect, it } from 'vitest';
import { compareCreatedName, createdInstant, sortByCreatedName } from '../../src/core/order.js';

describe('createdInstant', () => {
  it('keeps microseconds whatever the database text looks like', () => {
    const a = createdInstant('2024-05-01 10:00:00.000001');
    const b = createdInstant('2024-05-01T10:00:00.000002');
    expect(a! < b!).toBe(true);
    expect(createdInstant('2024-05-01 10:00:00.5')).toBe(createdInstant('2024-05-01 10:00:00.500000'));
    expect(createdInstant('2024-05-01 10:00:00')).toBe(createdInstant('2024-05-01 10:00:00.000000'));
  });

  it('honours a zone offset', () => {
    expect(createdInstant('2024-05-01 12:00:00+02')).toBe(createdInstant('2024-05-01 10:00:00'));
  });

  it('returns null for text that is no timestamp', () => {
    expect(createdInstant('yesterday')).toBeNull();
    expect(createdInstant(null)).toBeNull();
  });
});

describe('compareCreatedName', () => {
  it('orders by created, then name by code point; unparseable created last', () => {
    const rows = [
      { created: '2024-01-01 00:00:00.000002', name: 'x' },
      { created: 'garbage', name: 'a' },
      { created: '2024-01-01 00:00:00.000001', name: 'é' },
      { created: '2024-01-01 00:00:00.000001', name: 'B' },
      { created: '2024-01-01 00:00:00.000001', name: 'a' },
    ];
    expect([...rows].sort(compareCreatedName).map((r) => r.name)).toEqual(['B', 'a', 'é', 'x', 'a']);
  });
});

describe('sortByCreatedName', () => {
  const rows = (created: (string | null)[]) => created.map((c, i) => ({ created: c, name: `n${9 - i}` }));
  const order = (list: { created: string | null; name: string | null }[]) =>
    sortByCreatedName(list, (r) => r).map((r) => r.name);

  it('sorts texts of one form as instants, ties by name', () => {
    expect(
      order(rows(['2024-05-01 10:00:00.000002', '2024-05-01 10:00:00.000001', '2024-05-01 10:00:00.000001'])),
    ).toEqual(['n7', 'n8', 'n9']);
  });

  it('agrees with compareCreatedName when the forms differ (precision, zones, T, junk)', () => {
    const mixed = rows([
      '2024-05-01 10:00:00.5',
      '2024-05-01 10:00:00.400000',
      '2024-05-01T09:00:00+00',
      'yesterday',
      null,
      '2024-05-01 12:00:00+02',
    ]);
    expect(order(mixed)).toEqual([...mixed].sort(compareCreatedName).map((r) => r.name));
  });
});
