import { beforeAll, describe, type TestContext } from 'vitest';
import { DIALECTS, requireOrSkip, type Dialect } from './databases.js';

/**
 * One describe block per database. `need(ctx)` skips a test when its server is unreachable
 * (outside CI; with CI set, `requireOrSkip` fails the suite instead).
 */
export function describeEachDialect(
  title: string,
  body: (dialect: Dialect, need: (ctx: TestContext) => void) => void,
): void {
  for (const dialect of DIALECTS) {
    describe(`${title} on ${dialect}`, () => {
      let available = false;
      beforeAll(async () => {
        available = await requireOrSkip(dialect);
      });
      body(dialect, (ctx) => {
        if (!available) ctx.skip();
      });
    });
  }
}
