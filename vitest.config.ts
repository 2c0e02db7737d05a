import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The integration files mostly wait on database servers and child processes: run three at a
    // time even on two cores (each file uses its own uniquely named databases).
    maxWorkers: 3,
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/cli/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
