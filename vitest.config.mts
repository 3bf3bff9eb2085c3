import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The harness's program runner runs compiled (npm test compiles every test; a single suite compiles it here).
    globalSetup: ["test/support/compile-program-runner.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Tests start real servers and child processes; two workers fit the 2-core machines.
    maxWorkers: 2,
  },
});
