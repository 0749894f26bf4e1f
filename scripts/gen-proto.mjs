// Generates typed TypeScript from proto/ into packages/protocol/src/gen (see buf.gen.yaml).
// buf ships as an npm package (its binary rides inside the registry package), so no protoc
// install is needed; ts-proto is the plugin. Output is deterministic and gitignored.
// It generates into a scratch dir and then syncs, so a build running beside it never sees
// a half-empty gen/ folder.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "packages/protocol/src/gen");
const buf = join(root, "node_modules/.bin/buf");
if (!existsSync(buf)) {
  console.error("gen-proto: node_modules/.bin/buf is missing; run `npm test` (or `npx pnpm install`) first.");
  process.exit(1);
}
// ts-proto imports grpc-js' interfaces (ClientWritableStream, handleUnaryCall, ...) as if they
// were values; under verbatimModuleSyntax tsc keeps them and Node's ESM loader then fails on the
// CommonJS module. Mark every name grpc-js does not export at runtime as `type`.
const grpcRuntime = new Set(Object.keys(createRequire(join(root, "packages/protocol/package.json"))("@grpc/grpc-js")));
const markGrpcTypes = (text) =>
  text.replace(/import \{([^}]*)\} from "@grpc\/grpc-js";/g, (_all, names) => {
    const specs = names.split(",").map((n) => n.trim().replace(/^type /, "")).filter(Boolean);
    return `import { ${specs.map((n) => (grpcRuntime.has(n) ? n : `type ${n}`)).join(", ")} } from "@grpc/grpc-js";`;
  });
const scratch = mkdtempSync(join(tmpdir(), "brook-gen-"));
try {
  execFileSync(buf, ["generate", "--output", scratch], { cwd: root, stdio: "inherit" });
  const header =
    "// Code generated from proto/ by scripts/gen-proto.mjs. DO NOT EDIT.\n" +
    "// @ts-nocheck -- generated code is checked by its generator, not by our strict flags.\n";
  const fresh = new Set();
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts")) {
        // buf puts files under <scratch>/packages/protocol/src/gen/... because `out` is relative.
        const rel = relative(join(scratch, "packages/protocol/src/gen"), path);
        fresh.add(rel);
        const target = join(out, rel);
        const text = header + markGrpcTypes(readFileSync(path, "utf8"));
        mkdirSync(dirname(target), { recursive: true });
        if (!existsSync(target) || readFileSync(target, "utf8") !== text) writeFileSync(target, text);
      }
    }
  };
  walk(scratch);
  const prune = (dir) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) prune(path);
      else if (!fresh.has(relative(out, path))) rmSync(path);
    }
  };
  prune(out);
  console.log(`gen-proto: ${fresh.size} files in ${relative(root, out)}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
