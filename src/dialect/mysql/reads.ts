import { BaseReads } from '../base-reads.js';
import type { MysqlSession } from './session.js';

/** MySQL's reads: the connection is set up (dateStrings, jsonStrings) to hand every value over as text. */
export class MysqlReads extends BaseReads {
  constructor(private readonly session: MysqlSession) {
    super();
  }

  asText(column: string): string {
    return this.session.quote(column); // dateStrings and jsonStrings make the driver hand over the text
  }

  asJsonText(column: string): string {
    return this.asText(column);
  }
}
