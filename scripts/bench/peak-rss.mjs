// Preloaded into each tool process the benchmark starts (`node --import <this file's URL> bin/stepcfg-migrate …`):
// when the process exits, its peak resident set size (`maxRSS`, in KB on Linux) is written to the file named by
// STEPCFG_BENCH_RSS_FILE, so the benchmark reads the tool's own peak, not the benchmark's.
import { writeFileSync } from 'node:fs';

const file = process.env.STEPCFG_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      // the benchmark reports a missing figure; the tool's own exit code must not change
    }
  });
}
