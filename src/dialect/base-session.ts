import type { Knex } from 'knex';
import { expandArrays, type NativeStatement, type SqlForm } from './sql.js';
import type { Trace } from './types.js';

/**
 * What every session shares: SQL built in the dialect's form (see `SqlForm`) and run on one raw
 * connection. The other parts of an adapter (introspection, reads, writes) send their statements through it.
 */
export abstract class BaseSession {
  committed = false;
  /** Characters of spec text at most in one multi-row statement (see `chunks`). */
  statementChars = 4 << 20;

  protected constructor(
    readonly sql: SqlForm,
    private readonly tracer: Trace | undefined,
  ) {}

  /** Notes a statement about to be sent. */
  trace(sql: string): void {
    this.tracer?.(sql);
  }

  /** Compiles a knex raw template into the driver's own SQL and bindings. */
  compile(template: string, bindings: readonly unknown[] = []): NativeStatement {
    const expanded = expandArrays(template, bindings);
    return this.sql.compile(expanded.template, expanded.bindings);
  }

  /** Quotes one identifier (or `schema.table`) for this dialect. */
  quote(identifier: string): string {
    return this.sql.quote(identifier);
  }

  /** Runs SQL already in the driver's own form. */
  abstract runNative<T>(sql: string, bindings: unknown[]): Promise<T[]>;
  /** Runs a query in the driver's own form, each row as an array. */
  abstract runNativeArrays(sql: string, bindings: unknown[]): Promise<unknown[][]>;

  query<T = Record<string, unknown>>(template: string, bindings: readonly unknown[] = []): Promise<T[]> {
    const compiled = this.compile(template, bindings);
    return this.runNative<T>(compiled.sql, compiled.bindings);
  }

  queryArrays(template: string, bindings: readonly unknown[] = []): Promise<unknown[][]> {
    const compiled = this.compile(template, bindings);
    return this.runNativeArrays(compiled.sql, compiled.bindings);
  }

  /** Runs the statements of a knex schema builder (CREATE TABLE, DROP TABLE) one by one. */
  async runSchema(build: (schema: Knex.SchemaBuilder) => Knex.SchemaBuilder): Promise<void> {
    for (const statement of await this.sql.schemaStatements(build)) {
      await this.runNative(statement.sql, statement.bindings);
    }
  }
}
