import { BaseReads } from '../base-reads.js';
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
}
