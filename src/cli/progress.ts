import type { Progress } from '../migrate/scan.js';

const count = (n: number) => n.toLocaleString('en-US');

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60
    ? `${minutes} min ${Math.round(seconds % 60)} s`
    : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * One line for a phase's progress: rows done of the total, the rate since the phase began, and
 * the time left at that rate (once there is a rate to go by).
 */
export function describeProgress(p: Progress, secondsInPhase: number): string {
  if (p.phase === 'writing') return `writing: ${count(p.workflows ?? 0)} workflow rows and their backups`;
  const rate = secondsInPhase >= 0.5 ? p.rowsDone / secondsInPhase : 0;
  const parts = [`${p.phase}: ${count(p.rowsDone)}/${count(p.rowsTotal)} step rows`];
  if (rate > 0) {
    parts.push(`${count(Math.round(rate))} rows/s`);
    const left = Math.max(0, p.rowsTotal - p.rowsDone);
    if (left > 0) parts.push(`ETA ${duration(left / rate)}`);
  }
  return parts.join(' · ');
}

/**
 * A progress display on a TTY (ora, on stderr); absent off a TTY, so logs stay clean. ora is
 * loaded only here: a run without the display does not wait for it to load.
 */
export async function startProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  color: boolean,
): Promise<{ update: (p: Progress) => void; stop: () => void } | undefined> {
  // A terminal without a width (a bare pty) cannot redraw a line: stay quiet there too.
  if (!stream.isTTY || !stream.columns) return undefined;
  const { default: ora } = await import('ora');
  const spinner = ora({ stream, color: color ? 'cyan' : false, discardStdin: false, text: 'connecting' }).start();
  let phase: Progress['phase'] | undefined;
  let phaseStarted = Date.now();
  return {
    // Called once per batch: a string and a redraw at most, nothing per row.
    update: (p) => {
      if (p.phase !== phase) {
        phase = p.phase;
        phaseStarted = Date.now();
      }
      spinner.text = describeProgress(p, (Date.now() - phaseStarted) / 1000);
    },
    stop: () => spinner.stop(),
  };
}
