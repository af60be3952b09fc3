// Cross-client runs: the unmodified reference SDK (@biconomy/abstractjs 1.2.3) on one side of a session, our Python
// SDK on the other, against the same devnet and local MEE node (tests/reference/test_cross_clients.py).
//
//   node tests/reference/cross_grant.mjs grant DEVNET_JSON --out FILE [--chains 8453,10]
//       The owner grants the session signer Counter.increment() on each chain with grantPermissionTypedDataSign
//       (USDC fee token on the first chain) and writes the details as abstractjs `stringify` stores them.
//   node tests/reference/cross_grant.mjs use DEVNET_JSON --details FILE --account ADDRESS --mode MODE [--chains ...]
//       The session signer's client (accountAddress = the granter's account) reads the details with `parse` and
//       calls usePermission with increment() on each chain, then waits for the receipt.
//
//   node tests/reference/cross_grant.mjs session-prepare DEVNET_JSON --out FILE [--index N] [--chains ...]
//       The new session flow: the owner's account at index N (default 1, a fresh one on a fresh devnet) is PREPAREd
//       in one permit-funded super-transaction: getSessionQuote({mode: "PREPARE", enableSession: {redeemer: session
//       signer, actions: buildSessionAction custom Counter.increment() (sudo) on each chain}, feeToken, trigger: USDC
//       from the owner's EOA}), then executeSessionQuote and the receipt; the sessionDetails are written with
//       `stringify`.
//   node tests/reference/cross_grant.mjs session-use DEVNET_JSON --details FILE --account ADDRESS [--chains ...]
//       The session signer's client reads the details with `parse` and runs getSessionQuote({mode: "USE", ...}) with
//       increment() on each chain, then executeSessionQuote and the receipt.
//
// The account must be prepared already for grant and use (deployed, SmartSessions installed, safe sender). stdout: one JSON line
// {"ok": true, ...} or {"ok": false, "error": ...}; whatever the SDK logs goes to stderr. Exit code 0 / 1.
import {
  buildSessionAction,
  createMeeClient,
  getMEEVersion,
  getSudoPolicy,
  meeSessionActions,
  parse,
  stringify,
  toMultichainNexusAccount,
} from "@biconomy/abstractjs";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { defineChain, encodeFunctionData, http, parseAbi, toFunctionSelector } from "viem";
import { privateKeyToAccount } from "viem/accounts";

for (const name of ["log", "info", "warn", "debug"]) {
  console[name] = (...parts) => process.stderr.write(parts.map(String).join(" ") + "\n");
}
const print = (value) =>
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n");

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: "string" },
    details: { type: "string" },
    account: { type: "string" },
    mode: { type: "string", default: "USE" },
    index: { type: "string", default: "1" },
    "trigger-amount": { type: "string", default: "10000000" }, // 10 USDC
    chains: { type: "string" },
    "mee-version": { type: "string", default: "2.1.0" },
  },
});
const [command, statePath] = positionals;
const state = JSON.parse(readFileSync(statePath, "utf8"));
const keyOf = (role) => state.keys.find((k) => k.role === role).privateKey;
const wanted = opts.chains ? opts.chains.split(",").map(Number) : state.chains.map((c) => c.chainId);
const chains = state.chains
  .filter((c) => wanted.includes(c.chainId))
  .map((c) => ({
    id: c.chainId,
    rpcUrl: c.rpcUrl,
    counter: c.contracts.Counter,
    usdc: c.contracts.USDC,
    chain: defineChain({
      id: c.chainId,
      name: `devnet-${c.chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [c.rpcUrl] } },
      contracts: { multicall3: { address: c.contracts.Multicall3 } },
    }),
  }));
const version = getMEEVersion(opts["mee-version"]);
const feeToken = { address: chains[0].usdc, chainId: chains[0].id };
const INCREMENT = toFunctionSelector("function increment()");

async function client(signer, accountAddress, index) {
  const account = await toMultichainNexusAccount({
    signer,
    ...(index !== undefined ? { index } : {}),
    chainConfigurations: chains.map((c) => ({
      chain: c.chain,
      transport: http(c.rpcUrl),
      version,
      ...(accountAddress ? { accountAddress } : {}),
    })),
  });
  const mee = await createMeeClient({ account, url: state.node.url, apiKey: state.node.apiKey });
  return { account, mee, sessions: meeSessionActions(mee) };
}

async function grant() {
  const { sessions: owner } = await client(privateKeyToAccount(keyOf("owner")));
  const details = await owner.grantPermissionTypedDataSign({
    redeemer: privateKeyToAccount(keyOf("session_signer")).address,
    feeToken,
    actions: chains.map((c) => ({
      chainId: c.id,
      actionTarget: c.counter,
      actionTargetSelector: INCREMENT,
      actionPolicies: [getSudoPolicy()],
    })),
  });
  writeFileSync(opts.out, stringify(details));
  return { permissionIds: details.map((d) => d.permissionId) };
}

async function use() {
  const { mee, sessions: session } = await client(privateKeyToAccount(keyOf("session_signer")), opts.account);
  const sessionDetails = parse(readFileSync(opts.details, "utf8"));
  const data = encodeFunctionData({ abi: parseAbi(["function increment()"]), functionName: "increment" });
  const { hash } = await session.usePermission({
    sessionDetails,
    mode: opts.mode,
    feeToken,
    instructions: chains.map((c) => ({ chainId: c.id, calls: [{ to: c.counter, data }] })),
  });
  const receipt = await mee.waitForSupertransactionReceipt({ hash });
  return { hash, status: receipt.transactionStatus };
}

async function sessionPrepare() {
  const { account, mee } = await client(privateKeyToAccount(keyOf("owner")), undefined, BigInt(opts.index));
  const actions = buildSessionAction({
    type: "custom",
    data: {
      chainIds: chains.map((c) => c.id),
      contractAddress: chains[0].counter,
      functionSignature: toFunctionSelector("function increment()"),
      policies: [{ type: "sudo" }],
    },
  });
  for (const c of chains) {
    if (c.counter.toLowerCase() !== chains[0].counter.toLowerCase()) throw new Error("Counter differs between chains");
  }
  const sessionQuote = await mee.getSessionQuote({
    mode: "PREPARE",
    enableSession: { redeemer: privateKeyToAccount(keyOf("session_signer")).address, actions },
    feeToken,
    trigger: { tokenAddress: feeToken.address, chainId: feeToken.chainId, amount: BigInt(opts["trigger-amount"]) },
  });
  if (!sessionQuote) throw new Error("getSessionQuote(PREPARE) had nothing to do: use a fresh --index");
  if (!sessionQuote.sessionDetails) throw new Error("getSessionQuote(PREPARE) returned no sessionDetails");
  const { hash } = await mee.executeSessionQuote(sessionQuote);
  const receipt = await mee.waitForSupertransactionReceipt({ hash });
  writeFileSync(opts.out, stringify(sessionQuote.sessionDetails));
  return {
    account: account.addressOn(chains[0].id, true),
    quoteType: sessionQuote.quoteType,
    permissionIds: sessionQuote.sessionDetails.map((d) => d.permissionId),
    hash,
    status: receipt.transactionStatus,
  };
}

async function sessionUse() {
  const { mee } = await client(privateKeyToAccount(keyOf("session_signer")), opts.account);
  const sessionDetails = parse(readFileSync(opts.details, "utf8"));
  const data = encodeFunctionData({ abi: parseAbi(["function increment()"]), functionName: "increment" });
  const sessionQuote = await mee.getSessionQuote({
    mode: "USE",
    sessionDetails,
    feeToken,
    instructions: chains.map((c) => ({ chainId: c.id, calls: [{ to: c.counter, data }] })),
  });
  const { hash } = await mee.executeSessionQuote(sessionQuote);
  const receipt = await mee.waitForSupertransactionReceipt({ hash });
  return { quoteType: sessionQuote.quoteType, hash, status: receipt.transactionStatus };
}

const commands = { grant, use, "session-prepare": sessionPrepare, "session-use": sessionUse };
try {
  if (!commands[command]) throw new Error(`unknown command ${command} (${Object.keys(commands).join(" | ")})`);
  const result = await commands[command]();
  print({ ok: true, ...result });
} catch (error) {
  print({ ok: false, error: String(error?.shortMessage ?? error?.message ?? error) });
  process.exit(1);
}
