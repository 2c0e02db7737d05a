import { compareCodePoints } from './code-points.js';

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * The instant a `created` text stands for, in nanoseconds since the epoch, at the full precision
 * the text carries (SQLite and PostgreSQL keep microseconds); null when the text is no timestamp.
 */
export function createdInstant(created: string | null): bigint | null {
  if (created === null) return null;
  const m = TIMESTAMP.exec(created.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return null;
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0')) * 60_000;
  }
  return BigInt(ms) * 1_000_000n + BigInt(frac.padEnd(9, '0'));
}

interface Ordered {
  created: string | null;
  name: string | null;
}

interface Keyed<T> {
  item: T;
  created: string | null;
  name: string;
  at: bigint | null;
}

function compareKeyed<T>(a: Keyed<T>, b: Keyed<T>): number {
  const x = a.at;
  const y = b.at;
  if (x !== null && y !== null && x !== y) return x < y ? -1 : 1;
  if ((x === null) !== (y === null)) return x === null ? 1 : -1;
  if (x === null && a.created !== b.created) return compareCodePoints(a.created ?? '', b.created ?? '');
  return compareCodePoints(a.name, b.name);
}

const keyed = <T>(item: T, row: Ordered): Keyed<T> => ({
  item,
  created: row.created,
  name: row.name ?? '',
  at: createdInstant(row.created),
});

/**
 * Orders rows by (`created`, `name`): instants first, ties by name in code-point order.
 * Rows whose `created` is not a timestamp come last, by their text.
 */
export function compareCreatedName(a: Ordered, b: Ordered): number {
  return compareKeyed(keyed(a, a), keyed(b, b));
}

/** A timestamp without zone, at one fixed precision: such texts of one length sort as their instants. */
const PLAIN_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?$/;

/** Sorts items by their rows' (`created`, `name`), reading each `created` once. */
export function sortByCreatedName<T>(items: T[], row: (item: T) => Ordered): T[] {
  if (items.length < 2) return items;
  // The common case: every `created` written the same way (as one database writes them), so
  // comparing the texts compares the instants, and no date is parsed.
  const first = row(items[0] as T).created;
  const uniform =
    first !== null &&
    PLAIN_TIMESTAMP.test(first) &&
    items.every((item) => {
      const c = row(item).created;
      return (
        c !== null && c.length === first.length && c.charCodeAt(10) === first.charCodeAt(10) && PLAIN_TIMESTAMP.test(c)
      );
    });
  if (uniform) {
    return [...items].sort((a, b) => {
      const x = row(a);
      const y = row(b);
      const cx = x.created as string;
      const cy = y.created as string;
      return cx < cy ? -1 : cx > cy ? 1 : compareCodePoints(x.name ?? '', y.name ?? '');
    });
  }
  return items
    .map((item) => keyed(item, row(item)))
    .sort(compareKeyed)
    .map((k) => k.item);
}
