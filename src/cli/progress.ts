import ora from 'ora';
import type { Progress } from '../migrate/scan.js';

/** A progress display on a TTY (ora, on stderr); absent off a TTY, so logs stay clean. */
export function startProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  color: boolean,
): { update: (p: Progress) => void; stop: () => void } | undefined {
  // A terminal without a width (a bare pty) cannot redraw a line: stay quiet there too.
  if (!stream.isTTY || !stream.columns) return undefined;
  const spinner = ora({ stream, color: color ? 'cyan' : false, discardStdin: false, text: 'connecting' }).start();
  const started = Date.now();
  return {
    update: (p) => {
      const seconds = (Date.now() - started) / 1000;
      const rate = seconds > 0 ? Math.round(p.rowsDone / seconds) : 0;
      spinner.text = `${p.phase}: ${p.rowsDone}/${p.rowsTotal} step rows (${rate} rows/s)`;
    },
    stop: () => spinner.stop(),
  };
}
