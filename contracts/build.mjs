// Builds the devnet contract suite with the pinned solc-js (package.json) and writes one artifact per contract.
//
//   node contracts/build.mjs                 # rebuild into src/smartsessions/devnet/artifacts/
//   node contracts/build.mjs --out DIR       # elsewhere (the test suite rebuilds and compares byte for byte)
//
// Every .sol file under contracts/ is compiled in one standard-JSON job; artifacts are written for contracts that
// have bytecode (interfaces and libraries-only files are skipped). Paths are relative, so any clone builds the same.
import { readFileSync, writeFileSync, readdirSync, statSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const solc = require("solc");

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const outDir = outIndex >= 0 ? args[outIndex + 1] : join(root, "src", "smartsessions", "devnet", "artifacts");

export const SETTINGS = {
  optimizer: { enabled: true, runs: 10000 },
  evmVersion: "cancun",
  metadata: { bytecodeHash: "none", appendCBOR: false },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.deployedBytecode.immutableReferences"] } },
};

function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith(".sol")) out.push(path);
  }
  return out;
}

const files = sources(here);
const input = {
  language: "Solidity",
  sources: Object.fromEntries(
    files.map((f) => [relative(root, f).split(sep).join("/"), { content: readFileSync(f, "utf8") }]),
  ),
  settings: SETTINGS,
};

const started = Date.now();
process.stderr.write(`solc ${solc.version()}: compiling ${files.length} files ...\n`);
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
for (const e of output.errors ?? []) process.stderr.write(e.formattedMessage + "\n");
if (errors.length) {
  process.stderr.write(`${errors.length} error(s)\n`);
  process.exit(1);
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const manifest = {};
for (const [sourceName, contracts] of Object.entries(output.contracts).sort()) {
  for (const [name, c] of Object.entries(contracts).sort()) {
    const bytecode = c.evm.bytecode.object;
    if (!bytecode) continue; // interfaces, abstract contracts
    if (manifest[name]) throw new Error(`two contracts are named ${name}: ${manifest[name]} and ${sourceName}`);
    manifest[name] = sourceName;
    const artifact = {
      contractName: name,
      sourceName,
      abi: c.abi,
      bytecode: "0x" + bytecode,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
      immutableReferences: c.evm.deployedBytecode.immutableReferences ?? {},
      compiler: { name: "solc-js", version: solc.version(), settings: { ...SETTINGS, outputSelection: undefined } },
    };
    writeFileSync(join(outDir, `${name}.json`), JSON.stringify(artifact, null, 1) + "\n");
  }
}
// Registry bytecode, copied as published: the canonical EntryPoint v0.7 (deployed through the deterministic deployer
// so it lands at its canonical address) and its simulation contract (used by the node in eth_call state overrides).
const NPM = "@account-abstraction/contracts";
const npmVersion = JSON.parse(readFileSync(join(root, "node_modules", NPM, "package.json"), "utf8")).version;
const npmLicense = JSON.parse(readFileSync(join(root, "node_modules", NPM, "package.json"), "utf8")).license;
for (const name of ["EntryPoint", "EntryPointSimulations"]) {
  const a = JSON.parse(readFileSync(join(root, "node_modules", NPM, "artifacts", `${name}.json`), "utf8"));
  const artifact = {
    contractName: name,
    sourceName: `npm:${NPM}@${npmVersion}/artifacts/${name}.json`,
    license: npmLicense,
    abi: a.abi,
    bytecode: a.bytecode,
    deployedBytecode: a.deployedBytecode,
    immutableReferences: {},
    compiler: { name: "published artifact", version: `${NPM}@${npmVersion}` },
  };
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify(artifact, null, 1) + "\n");
  manifest[name] = artifact.sourceName;
}
writeFileSync(join(outDir, "manifest.json"), JSON.stringify({ compiler: solc.version(), contracts: manifest }, null, 1) + "\n");
process.stderr.write(`${Object.keys(manifest).length} artifacts in ${((Date.now() - started) / 1000).toFixed(1)} s -> ${relative(root, outDir) || outDir}\n`);
