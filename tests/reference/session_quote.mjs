// Cross-client runs of the new session flow (getSessionQuote / executeSessionQuote): the unmodified reference SDK
// (@biconomy/abstractjs 1.2.3) on one side, our Python SDK on the other, against the same devnet and local MEE node
// (tests/reference/test_session_quote_cross.py).
//
//   node tests/reference/session_quote.mjs prepare DEVNET_JSON --out FILE [--index N] [--chains 8453,10]
//       The owner's account at index N (default 1, a fresh one on a fresh devnet) is PREPAREd in one permit-funded
//       super-transaction: getSessionQuote({mode: "PREPARE", enableSession: {redeemer: session signer, actions:
//       buildSessionAction custom Counter.increment() (sudo) on each chain}, feeToken: USDC on the first chain,
//       trigger: USDC from the owner's EOA}), then executeSessionQuote and the receipt. The returned sessionDetails
//       are written as abstractjs `stringify` stores them.
//   node tests/reference/session_quote.mjs use DEVNET_JSON --details FILE --account ADDRESS [--chains ...]
//       The session signer's client (accountAddress = the granter's account) reads the details with `parse`, calls
//       getSessionQuote({mode: "USE", sessionDetails, instructions: increment() on each chain, feeToken}), then
//       executeSessionQuote and the receipt.
//
// stdout: one JSON line {"ok": true, ...} or {"ok": false, "error": ...}; whatever the SDK logs goes to stderr.
// Exit code 0 / 1.
import {
  buildSessionAction,
  createMeeClient,
  getMEEVersion,
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
    index: { type: "string", default: "1" },
    chains: { type: "string" },
    "trigger-amount": { type: "string", default: "10000000" }, // 10 USDC
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

async function client(signer, { accountAddress, index } = {}) {
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
  return { account, mee };
}

async function prepare() {
  const { account, mee } = await client(privateKeyToAccount(keyOf("owner")), { index: BigInt(opts.index) });
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

async function use() {
  const { mee } = await client(privateKeyToAccount(keyOf("session_signer")), { accountAddress: opts.account });
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

try {
  const result = command === "prepare" ? await prepare() : command === "use" ? await use() : null;
  if (result === null) throw new Error(`unknown command ${command} (prepare | use)`);
  print({ ok: true, ...result });
} catch (error) {
  print({ ok: false, error: String(error?.shortMessage ?? error?.message ?? error) });
  process.exit(1);
}
