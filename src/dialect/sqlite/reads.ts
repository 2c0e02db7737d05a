import { BaseReads } from '../base-reads.js';
import type { OrderedScan, OrderedScanRequest } from '../types.js';
import { openOrderedScan } from './ordered-scan.js';
import type { SqliteSession } from './session.js';

/** SQLite's reads: any column cast to text; JSON as stored, text or bytes. */
export class SqliteReads extends BaseReads {
  constructor(private readonly session: SqliteSession) {
    super();
  }

  asText(column: string): string {
    return `CAST(${this.session.quote(column)} AS TEXT)`;
  }

  asJsonText(column: string): string {
    return this.session.quote(column);
  }

  override asJsonBytes(column: string): string {
    return `CAST(${this.session.quote(column)} AS BLOB)`;
  }

  async orderedScan(request: OrderedScanRequest): Promise<OrderedScan | undefined> {
    const scan = await openOrderedScan(this.session, this, request);
    if (!scan) return undefined;
    const { session } = this;
    session.scans.add(scan);
    return {
      get steps() {
        return scan.steps;
      },
      batches: () => scan.batches(),
      close: async () => {
        session.scans.delete(scan);
        await scan.close();
      },
    };
  }
}
