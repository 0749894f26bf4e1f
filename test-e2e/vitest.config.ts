// The end-to-end suite: real containers, so one file at a time, long timeouts, no retries
// (a flaky failover is a bug to find, not to hide). Run through run.sh, which prepares
// Docker, the image and the environment; never part of the root vitest projects.
import { defineConfig } from "vitest/config";

const conditions = ["source", "import", "node", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    root: import.meta.dirname,
    include: ["tests/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 300_000,
    retry: 0,
  },
});
