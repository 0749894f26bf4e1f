// The root README's "From a Node service" example, run as written against three real `brook`
// nodes: only the bootstrap addresses are swapped for the test cluster's. If the README and
// the SDK drift apart, this fails.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as sdk from "../../src/index.js";
import { TestCluster, until } from "../support/cluster.js";

const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../../../README.md"), "utf8");

/** The first ```ts block after the "From a Node service" heading. */
function readmeExample(): string {
  const section = readme.slice(readme.indexOf("### From a Node service"));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error("README has no ts example under 'From a Node service'");
  return match[1]!;
}

describe("README SDK example", () => {
  const cluster = new TestCluster();

  beforeAll(async () => {
    await cluster.start();
    await cluster.createTopic("orders", 3);
  });

  afterAll(async () => {
    await cluster.stop();
  });

  it("produces, consumes in a group and commits, as the README shows", async () => {
    const source = readmeExample();
    const importLine = /^import \{([^}]*)\} from "@brook\/client";\n/m;
    const names = importLine.exec(source)?.[1]?.split(",").map((n) => n.trim()) ?? [];
    expect(names.length, "the example imports from @brook/client").toBeGreaterThan(0);
    const addresses = /brokers: \[[^\]]*\]/;
    expect(addresses.test(source), "the example names its bootstrap brokers").toBe(true);
    const body = source.replace(importLine, "").replace(addresses, `brokers: ${JSON.stringify(cluster.bootstrap())}`) + "\nreturn { brook, consumer };";

    const lines: string[] = [];
    const log = { log: (...args: unknown[]) => lines.push(args.map(String).join(" ")) };
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<{ brook: sdk.Brook; consumer: sdk.Consumer<unknown, unknown> }>;
    const run = new AsyncFunction(...names, "console", body);
    const exports = sdk as unknown as Record<string, unknown>;
    const { brook } = await run(...names.map((n) => exports[n]), log);
    try {
      await until("the example's consumer received its record", async () => lines.some((l) => / user-1 hello$/.test(l)));
      expect(lines[0]).toMatch(/^written at partition \d+, offset \d+$/);
      const admin = brook.admin();
      // The example commits after each record: the group's committed offsets cover the one record.
      await until("the group committed its offset", async () => {
        const offsets = await admin.groupOffsets("billing", "orders").catch(() => []);
        return offsets.reduce((sum, p) => sum + Math.max(0, p.committed), 0) === 1;
      });
    } finally {
      await brook.close();
    }
  });
});
