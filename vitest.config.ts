// One root config, one vitest project per package (plus test-e2e, which runs on its own).
// Tests import sibling packages through the "source" export condition, so they run
// against src/ without a build; child-process tests run the built dist/ (npm test builds first).
import { existsSync, readdirSync } from "node:fs";
import { defineConfig } from "vitest/config";

const conditions = ["source", "import", "node", "default"];
const packages = readdirSync("packages").filter((name) => existsSync(`packages/${name}/test`));

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    projects: packages.map((name) => ({
      extends: true,
      test: {
        name,
        root: `packages/${name}`,
        include: ["test/**/*.test.ts"],
        // Generous: a busy 2-core machine runs these beside other work.
        testTimeout: 60_000,
        hookTimeout: 120_000,
      },
    })),
  },
});
