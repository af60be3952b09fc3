// The reference side of bench/sdk.py: the unmodified @biconomy/abstractjs 1.2.3 client timed on the same devnet,
// node and counting proxy as our SDK, with the same rows, warm-ups and runs.
//
//   node bench/sdk_ref.mjs INPUT_JSON
//
// INPUT_JSON (written by bench/sdk.py): chains [{chainId, rpcUrl, usdc, counter, multicall3}] (the proxy's URLs),
// home (the fee token's chain), nodeUrl, apiKey, ownerKey, signerKey, meeVersion, useMaxPayment, statsUrl (the
// proxy's control port), runs, warmup, freshQuote and freshExec (keys of fresh accounts, one per PREPARE call, each
// funded with USDC on home, deployed nowhere). The owner's account (index 0) is already prepared on every chain.
//
// stdout: one JSON line {grant1, grant4, use, prepare_quote, prepare_quote_nosim, prepare_exec, use_quote,
// use_quote_nosim, use_exec}, each {ms: [...], rpc: [...], node: [...], calls: {...}}; anything the SDK prints goes
// to stderr. The use and session-quote rows ask the node to simulate, as our SDK does; the `_nosim` rows do not.
import {
  createMeeClient,
  getMEEVersion,
  getSudoPolicy,
  meeSessionActions,
  toMultichainNexusAccount,
} from "@biconomy/abstractjs";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { defineChain, http, toFunctionSelector } from "viem";
import { privateKeyToAccount } from "viem/accounts";

for (const name of ["log", "info", "warn", "debug"]) {
  console[name] = (...parts) => process.stderr.write(parts.map(String).join(" ") + "\n");
}

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const INCREMENT = toFunctionSelector("increment()");
const version = getMEEVersion(spec.meeVersion);
const owner = privateKeyToAccount(spec.ownerKey);
const signer = privateKeyToAccount(spec.signerKey);
const chainIds = spec.chains.map((c) => c.chainId);
const home = spec.chains.find((c) => c.chainId === spec.home);
const feeToken = { address: home.usdc, chainId: home.chainId };

const chainConfigurations = (accountAddress) =>
  spec.chains.map((c) => ({
    chain: defineChain({
      id: c.chainId,
      name: `devnet-${c.chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [c.rpcUrl] } },
      contracts: { multicall3: { address: c.multicall3 } },
    }),
    transport: http(c.rpcUrl),
    version,
    ...(accountAddress ? { accountAddress } : {}),
  }));

// The proxy's counters: {requests: {name: n}, calls: {name: {call: n}}}.
async function stats() {
  const response = await fetch(spec.statsUrl);
  return response.json();
}
function traffic(before, after) {
  let rpc = 0;
  for (const id of chainIds) rpc += after.requests[String(id)] - before.requests[String(id)];
  const node = after.requests.node - before.requests.node;
  const calls = {};
  for (const [name, byCall] of Object.entries(after.calls)) {
    const where = name === "node" ? "node" : "rpc";
    for (const [call, n] of Object.entries(byCall)) {
      const moved = n - (before.calls[name][call] ?? 0);
      if (moved) calls[`${where} ${call}`] = (calls[`${where} ${call}`] ?? 0) + moved;
    }
  }
  return { rpc, node, calls };
}

// As bench/sdk.py's `timed`: warm-ups, then timed calls with the counters read around each; `after` untimed;
// `setup`, untimed before each call, gives it its argument (a fresh account's client).
async function timed(call, after, setup) {
  for (let i = 0; i < spec.warmup; i++) {
    const out = await call(setup ? await setup() : undefined);
    if (after) await after(out);
  }
  const result = { ms: [], rpc: [], node: [], calls: {} };
  for (let i = 0; i < spec.runs; i++) {
    const arg = setup ? await setup() : undefined;
    const before = await stats();
    const start = performance.now();
    const out = await call(arg);
    const elapsed = performance.now() - start;
    const { rpc, node, calls } = traffic(before, await stats());
    result.ms.push(elapsed);
    result.rpc.push(rpc);
    result.node.push(node);
    result.calls = calls;
    if (after) await after(out);
  }
  return result;
}

const action = (c) => ({
  chainId: c.chainId,
  actionTarget: c.counter,
  actionTargetSelector: INCREMENT,
  actionPolicies: [getSudoPolicy()],
});

async function main() {
  const ownerAccount = await toMultichainNexusAccount({ signer: owner, chainConfigurations: chainConfigurations() });
  const ownerClient = await createMeeClient({ account: ownerAccount, url: spec.nodeUrl, apiKey: spec.apiKey });
  const ownerSessions = meeSessionActions(ownerClient);
  const out = {};
  for (const [key, chains] of [["grant1", [home]], ["grant4", spec.chains]]) {
    const actions = chains.map(action);
    out[key] = await timed(() => ownerSessions.grantPermissionTypedDataSign({ redeemer: signer.address, actions, feeToken }));
  }

  const sessionDetails = await ownerSessions.grantPermissionTypedDataSign({
    redeemer: signer.address,
    actions: [action(home)],
    feeToken,
    maxPaymentAmount: BigInt(spec.useMaxPayment),
  });
  const sessionAccount = await toMultichainNexusAccount({
    signer,
    chainConfigurations: chainConfigurations(ownerAccount.addressOn(home.chainId, true)),
  });
  const sessionClient = await createMeeClient({ account: sessionAccount, url: spec.nodeUrl, apiKey: spec.apiKey });
  const sessions = meeSessionActions(sessionClient);
  const instructions = [{ chainId: home.chainId, calls: [{ to: home.counter, data: INCREMENT }] }];
  // asked with the node's simulation, as our SDK asks by default (the same request, so the same work for the node)
  const use = async (mode) =>
    (await sessions.usePermission({ sessionDetails, mode, instructions, feeToken, simulation: { simulate: true } }))
      .hash;
  const final = async (hash) => {
    // mined is enough to go on, as on our side (no 3 confirmations)
    const receipt = await sessionClient.waitForSupertransactionReceipt({ hash, pollingInterval: 20, mode: "fast-block" });
    if (receipt.transactionStatus !== "MINED_SUCCESS") throw new Error(`${hash}: ${receipt.transactionStatus}`);
  };
  await final(await use("ENABLE_AND_USE"));
  out.use = await timed(() => use("USE"), final);

  // getSessionQuote PREPARE on a fresh (undeployed, USDC-funded) account each call: deploy + install SmartSessions
  // on every chain, enableSessions of Counter.increment on the home chain; alone, and executed up to the hash
  // (its enableSession takes actions grouped by chain: {chainId, actions: [{actionTarget, ...}]})
  const { chainId: _, ...increment } = action(home);
  const enableSession = { redeemer: signer.address, actions: [{ chainId: home.chainId, actions: [increment] }] };
  const fresh = (keys) => {
    let next = 0;
    return async () => {
      const account = await toMultichainNexusAccount({
        signer: privateKeyToAccount(keys[next++]),
        chainConfigurations: chainConfigurations(),
      });
      return createMeeClient({ account, url: spec.nodeUrl, apiKey: spec.apiKey });
    };
  };
  // The main rows ask the node to simulate, as our SDK does by default (the same request, so the same work for the
  // node); the `_nosim` rows are the reference's own default (no simulation), next to ours asked the same way. A
  // quote alone changes nothing on chain, so both quote rows use the same fresh accounts.
  const SIMULATE = { simulate: true };
  const prepareQuote = (client, simulation = SIMULATE) =>
    client.getSessionQuote({ mode: "PREPARE", enableSession, feeToken, ...(simulation ? { simulation } : {}) });
  const quoteAlone = (simulation) => async (client) => {
    const quote = await prepareQuote(client, simulation);
    if (!quote?.sessionDetails) throw new Error("PREPARE gave no session details");
  };
  out.prepare_quote = await timed(quoteAlone(SIMULATE), undefined, fresh(spec.freshQuote));
  out.prepare_quote_nosim = await timed(quoteAlone(undefined), undefined, fresh(spec.freshQuote));
  let last;
  out.prepare_exec = await timed(
    async (client) => {
      const quote = await prepareQuote(client);
      const { hash } = await client.executeSessionQuote({ quoteType: quote.quoteType, quote: quote.quote });
      return { client, hash, sessionDetails: quote.sessionDetails };
    },
    async ({ client, hash, sessionDetails }) => {
      const receipt = await client.waitForSupertransactionReceipt({ hash, pollingInterval: 20, mode: "fast-block" });
      if (receipt.transactionStatus !== "MINED_SUCCESS") throw new Error(`${hash}: ${receipt.transactionStatus}`);
      last = { account: client.account.addressOn(home.chainId, true), sessionDetails };
    },
    fresh(spec.freshExec),
  );

  // getSessionQuote USE (one increment()) with the details of the last PREPARE executed: alone, and executed
  const preparedAccount = await toMultichainNexusAccount({
    signer,
    chainConfigurations: chainConfigurations(last.account),
  });
  const preparedClient = await createMeeClient({ account: preparedAccount, url: spec.nodeUrl, apiKey: spec.apiKey });
  const useQuote = (simulation = SIMULATE) =>
    preparedClient.getSessionQuote({
      mode: "USE",
      sessionDetails: last.sessionDetails,
      instructions,
      feeToken,
      ...(simulation ? { simulation } : {}),
    });
  out.use_quote = await timed(() => useQuote(SIMULATE));
  out.use_quote_nosim = await timed(() => useQuote(undefined));
  out.use_exec = await timed(
    async () => {
      const quote = await useQuote();
      return (await preparedClient.executeSessionQuote({ quoteType: quote.quoteType, quote: quote.quote })).hash;
    },
    async (hash) => {
      const receipt = await preparedClient.waitForSupertransactionReceipt({
        hash,
        pollingInterval: 20,
        mode: "fast-block",
      });
      if (receipt.transactionStatus !== "MINED_SUCCESS") throw new Error(`${hash}: ${receipt.transactionStatus}`);
    },
  );
  process.stdout.write(JSON.stringify(out) + "\n");
}

await main();
process.exit(0);
