import { openSync, writeSync } from 'node:fs';

/** The log files opened so far, by path: a process that runs the CLI again (the tests) reuses each. */
const opened = new Map<string, number>();

/**
 * `STEPCFG_SQL_LOG=FILE`: each statement sent, one line after the seconds since the process started and a
 * tab (for debugging, timing, and the test that statements do not grow with the rows); none without a file.
 */
export function sqlLog(file: string | undefined): ((sql: string) => void) | undefined {
  if (!file) return undefined;
  const fd = opened.get(file) ?? openSync(file, 'a');
  opened.set(file, fd);
  return (sql) => {
    writeSync(fd, `${(performance.now() / 1000).toFixed(3)}\t${sql.replace(/\s+/g, ' ').slice(0, 160)}\n`);
  };
}
