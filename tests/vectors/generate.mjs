// Conformance vectors from the TypeScript reference (abstractjs 1.2.3, module-sdk 0.4.0, viem, solady,
// @openzeppelin/merkle-tree; versions pinned in the repository's package.json / package-lock.json).
//
//   node tests/vectors/generate.mjs            # rewrite every tests/vectors/*.json
//
// Each group module exports `async generate(rng)` returning `{ "<file>.json": { description, cases: [...] } }`.
// Values in the files: bytes/addresses/hashes as 0x hex, integers as decimal strings, booleans as JSON booleans,
// structs as camelCase objects with the ABI field names. The Python tests read these and never write them.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { makeRng } from "./gen/rng.mjs";

const here = dirname(fileURLToPath(import.meta.url));
// VECTORS_OUT redirects the output (the test suite regenerates into a temporary folder and compares).
const outDir = process.env.VECTORS_OUT ?? here;
const require = createRequire(import.meta.url);

export const SEED = 7579;

const PACKAGES = ["@biconomy/abstractjs", "@rhinestone/module-sdk", "viem", "solady", "@openzeppelin/merkle-tree"];
function installedVersions() {
  const root = join(here, "..", "..", "node_modules");
  return Object.fromEntries(
    PACKAGES.map((p) => [p, JSON.parse(readFileSync(join(root, p, "package.json"), "utf8")).version]),
  );
}

const GROUPS = [
  ["pure", "./gen/pure.mjs", SEED],
  ["flows", "./gen/flows.mjs", SEED + 1],
  ["session_actions", "./gen/session_actions.mjs", SEED + 2],
];

const versions = installedVersions();
let total = 0;
for (const [group, path, seed] of GROUPS) {
  const mod = await import(path);
  const files = await mod.generate(makeRng(seed));
  for (const [name, body] of Object.entries(files)) {
    const out = {
      generator: `tests/vectors/generate.mjs (group ${group})`,
      seed,
      packages: versions,
      description: body.description,
      cases: body.cases,
    };
    writeFileSync(join(outDir, name), JSON.stringify(out, null, 1) + "\n");
    total += body.cases.length;
    console.log(`${name}: ${body.cases.length} cases`);
  }
}
console.log(`total: ${total} cases`);
