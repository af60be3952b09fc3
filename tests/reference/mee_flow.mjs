// The unmodified reference client (@biconomy/abstractjs 1.2.3) running the seed's complete Smart Sessions flow
// against our local MEE node and the devnet chains. Nothing is mocked: every quote, signature check, submission and
// receipt comes from the node, every read from the anvil chains.
//
//   node tests/reference/mee_flow.mjs DEVNET_JSON [options]
//
//   DEVNET_JSON            the state file `smartsessions devnet up` writes: chains (chainId, rpcUrl, contracts), keys
//                          (roles owner, session_signer) and node ({url, apiKey})
//   --node-url URL         use this node instead of devnet.json's (the SDK's base URL, e.g. http://127.0.0.1:8080/v1;
//                          a URL without a path gets /v1 appended)
//   --api-key KEY          instead of devnet.json's node.apiKey
//   --mee-version V        2.0.0 or 2.1.0 (default 2.1.0)
//   --index N              the owner's Nexus account index (default 0); a fresh index gives a fresh account
//   --sections LIST        comma-separated: flow, policy, multichain (default all three)
//   --setup-only           stop after creating the accounts and both MEE clients
//   --skip-prepare         the account is already prepared (deployed, SmartSessions installed, safe sender added)
//   --timeout SECONDS      per super-transaction (default 120)
//   --chain-defs KIND      how the chains are described to viem and the SDK: "devnet" (default: defineChain with the
//                          devnet's Multicall3), "viem" (viem's own definitions of Base and OP Mainnet, only the RPC
//                          URL changed) or "bare" (defineChain with no contracts: no multicall3, so the SDK falls back
//                          to an on-chain approval trigger and waits for its confirmations)
//   --max-payment USDC     maxPaymentAmount of every grant, in whole USDC (e.g. 2, as in the seed); default: the SDK's
//
// stdout: one JSON line per step, {"step": ..., "ok": true|false, ...}; the last one is {"step": "done", "ok", "failed"}.
// Anything the SDK itself prints goes to stderr. Exit code 0 when every check passed, 1 when one failed, 2 when the
// flow could not start (no devnet state, no node).
import {
  buildActionPolicy,
  calldataArgument,
  createMeeClient,
  getMEEVersion,
  getSudoPolicy,
  meeSessionActions,
  toMultichainNexusAccount,
  toSmartSessionsModule,
} from "@biconomy/abstractjs";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createPublicClient, defineChain, encodeFunctionData, http, parseAbi, parseUnits, toFunctionSelector } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { base, baseSepolia, optimism } from "viem/chains";

const SMART_SESSIONS = "0x00000000008bDABA73cD9815d79069c247Eb4bDA";
const DEFAULT_MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11";
const TRIGGER_AMOUNT = 10_000_000n; // 10 USDC
const POLICY_LIMIT = 10n; // setNumber(n) is allowed for n <= 10
const COUNTER_ABI = parseAbi([
  "function number() view returns (uint256)",
  "function increment()",
  "function setNumber(uint256 n)",
]);
const ACCOUNT_ABI = parseAbi(["function isModuleInstalled(uint256 moduleTypeId, address module, bytes additionalContext) view returns (bool)"]);
const K1_ABI = parseAbi(["function isSafeSender(address sender, address smartAccount) view returns (bool)"]);
const SIGNATURE_TYPES = { "0x177eee00": "simple", "0x177eee01": "onchain", "0x177eee02": "permit" };

// -- output ----------------------------------------------------------------------------------------------------------

// stdout carries only our JSON lines: whatever the SDK logs (console.log/info/warn) goes to stderr.
const out = (line) => process.stdout.write(line + "\n");
for (const name of ["log", "info", "warn", "debug"]) {
  console[name] = (...parts) => process.stderr.write(parts.map((p) => (typeof p === "string" ? p : json(p))).join(" ") + "\n");
}
function json(value) {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}
const failed = [];
function emit(step, fields) {
  const ok = fields.ok ?? true;
  if (!ok) failed.push(step);
  out(json({ step, ok, ...fields }));
}
function message(error) {
  return String(error?.shortMessage ?? error?.message ?? error);
}
class Stop extends Error {}

// -- arguments and devnet state -------------------------------------------------------------------------------------

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "node-url": { type: "string" },
    "api-key": { type: "string" },
    "mee-version": { type: "string", default: "2.1.0" },
    index: { type: "string", default: "0" },
    sections: { type: "string", default: "flow,policy,multichain" },
    "setup-only": { type: "boolean", default: false },
    "skip-prepare": { type: "boolean", default: false },
    timeout: { type: "string", default: "120" },
    "chain-defs": { type: "string", default: "devnet" },
    "max-payment": { type: "string" },
  },
});
const sections = new Set(opts.sections.split(",").map((s) => s.trim()));
const timeoutMs = Number(opts.timeout) * 1000;
const chainDefs = opts["chain-defs"];
// The trigger the SDK picks: a permit where viem knows a multicall3 to read the token with, else an on-chain approval.
const expectedTrigger = chainDefs === "bare" ? "onchain" : "permit";
const maxPayment = opts["max-payment"] === undefined ? {} : { maxPaymentAmount: parseUnits(opts["max-payment"], 6) };
const VIEM_CHAINS = Object.fromEntries([base, baseSepolia, optimism].map((c) => [c.id, c]));

function fatal(step, error, hint) {
  out(json({ step, ok: false, error, ...(hint ? { hint } : {}) }));
  process.exit(2);
}

if (positionals.length !== 1) fatal("setup", "usage: node tests/reference/mee_flow.mjs DEVNET_JSON [options]");
if (!["devnet", "viem", "bare"].includes(chainDefs)) fatal("setup", `--chain-defs: ${chainDefs} is not devnet, viem or bare`);
let state;
try {
  state = JSON.parse(readFileSync(positionals[0], "utf8"));
} catch (error) {
  fatal("setup", `Cannot read the devnet state ${positionals[0]}: ${message(error)}`, "Start a devnet with `smartsessions devnet up --background`.");
}

function nodeBaseUrl() {
  const raw = opts["node-url"] ?? state.node?.url;
  if (!raw) {
    fatal(
      "setup",
      `The devnet state ${positionals[0]} names no MEE node ("node": ${json(state.node ?? null)}).`,
      "`smartsessions devnet up` starts the node and writes its url and apiKey there; or pass --node-url.",
    );
  }
  let url;
  try {
    url = new URL(raw);
  } catch {
    fatal("setup", `The MEE node URL ${JSON.stringify(raw)} is not a URL.`);
  }
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/v1";
  return url.toString().replace(/\/+$/, "");
}
const NODE_URL = nodeBaseUrl();
const API_KEY = opts["api-key"] ?? state.node?.apiKey ?? ""; // "" = no x-api-key header (the SDK's default is Biconomy's key)

const keyOf = (role) => {
  const key = (state.keys ?? []).find((k) => k.role === role);
  if (!key) fatal("setup", `The devnet state has no key with role ${role}.`);
  return key.privateKey;
};
const owner = privateKeyToAccount(keyOf("owner"));
const sessionSigner = privateKeyToAccount(keyOf("session_signer"));
if (!state.chains?.length) fatal("setup", "The devnet state lists no chains.");

function chainDefinition(c, multicall3) {
  const rpcUrls = { default: { http: [c.rpcUrl] } };
  if (chainDefs === "viem") {
    const known = VIEM_CHAINS[c.chainId];
    if (!known) fatal("setup", `--chain-defs viem: viem/chains has no chain ${c.chainId} here (${Object.keys(VIEM_CHAINS)})`);
    return { ...known, rpcUrls }; // everything else (contracts, fees, formatters) as viem ships it
  }
  return defineChain({
    id: c.chainId,
    name: `devnet-${c.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls,
    // viem's multicall (the SDK's permit reads) needs it; without it the SDK falls back to an on-chain approval.
    ...(chainDefs === "bare" ? {} : { contracts: { multicall3: { address: multicall3 } } }),
  });
}

const chains = state.chains.map((c) => {
  const multicall3 = c.contracts?.Multicall3 ?? DEFAULT_MULTICALL3;
  const chain = chainDefinition(c, multicall3);
  return {
    id: c.chainId,
    chain,
    rpcUrl: c.rpcUrl,
    usdc: c.contracts?.USDC,
    counter: c.contracts?.Counter ?? "0x000000000000000000000000000000000000c0Fe",
    multicall3,
    client: createPublicClient({ chain, transport: http(c.rpcUrl) }),
  };
});
const home = chains[0]; // fee token, trigger and the single-chain flow live here
const feeToken = { address: home.usdc, chainId: home.id };
const version = getMEEVersion(opts["mee-version"]);

// -- watching the node's HTTP traffic (observation only: requests and answers pass through unchanged) -------------

let traffic = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const url = String(input instanceof Request ? input.url : input);
  if (!url.startsWith(NODE_URL)) return realFetch(input, init);
  const path = url.slice(NODE_URL.length).replace(/^\/+/, "").replace(/0x[0-9a-fA-F]{64}/, "{hash}");
  const entry = { call: `${init.method ?? "GET"} ${path}` };
  if (typeof init.body === "string") {
    try {
      const body = JSON.parse(init.body);
      if (path === "exec") {
        const prefix = String(body.signature).slice(0, 10);
        entry.signatureType = SIGNATURE_TYPES[prefix] ?? prefix;
      } else if (path === "quote" || path === "quote-permit") {
        entry.quoteType = body.quoteType;
      }
    } catch {}
  }
  traffic.push(entry);
  const response = await realFetch(input, init);
  entry.status = response.status;
  if (entry.quoteType && response.ok) {
    try {
      const quote = await response.clone().json();
      entry.fee = quote.paymentInfo?.tokenAmount; // what the node charges, in whole fee tokens
    } catch {}
  }
  return response;
};
const execSignatureType = () => traffic.find((c) => c.signatureType)?.signatureType;
function takeTraffic() {
  const calls = traffic;
  traffic = [];
  const counts = {};
  for (const { call, status } of calls) counts[`${call} ${status ?? "-"}`] = (counts[`${call} ${status ?? "-"}`] ?? 0) + 1;
  const quote = calls.find((c) => c.quoteType);
  const exec = calls.find((c) => c.signatureType);
  return {
    nodeCalls: counts,
    ...(quote ? { quoteType: quote.quoteType } : {}),
    ...(quote?.fee !== undefined ? { fee: quote.fee } : {}),
    ...(exec ? { signatureType: exec.signatureType } : {}),
  };
}

// -- helpers ---------------------------------------------------------------------------------------------------------

function withTimeout(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not final after ${timeoutMs / 1000} s`)), timeoutMs);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function waitFor(client, hash) {
  const receipt = await withTimeout(client.waitForSupertransactionReceipt({ hash }), `super-transaction ${hash}`);
  return {
    status: receipt.transactionStatus,
    userOps: receipt.userOps.map((u) => ({ chainId: Number(u.chainId), status: u.executionStatus, tx: u.executionData })),
  };
}

const counterOf = (c) => c.client.readContract({ address: c.counter, abi: COUNTER_ABI, functionName: "number" });
const chainById = (id) => chains.find((c) => c.id === id);
const call = (c, functionName, args = []) => ({
  chainId: c.id,
  calls: [{ to: c.counter, data: encodeFunctionData({ abi: COUNTER_ABI, functionName, args }) }],
});

// Runs one step; an unexpected error is reported on the step's line and stops the flow (later steps depend on it).
// Fields whose names start with "_" are returned to the caller but not printed.
async function step(name, body) {
  try {
    const fields = await body();
    const shown = Object.fromEntries(Object.entries(fields).filter(([k]) => !k.startsWith("_")));
    emit(name, { ...shown, ...takeTraffic() });
    return fields;
  } catch (error) {
    if (error instanceof Stop) throw error;
    emit(name, { ok: false, error: message(error), ...takeTraffic() });
    throw new Stop(name);
  }
}

// One usePermission super-transaction and its receipt; `expect(before, after)` checks each touched chain's counter.
const incremented = (before, after) => after === before + 1n;
async function usePermission(client, name, { sessionDetails, mode, instructions, chainsTouched, expect = incremented }) {
  return step(name, async () => {
    const before = await Promise.all(chainsTouched.map(counterOf));
    const { hash } = await meeSessionActions(client).usePermission({ sessionDetails, mode, instructions, feeToken });
    const receipt = await waitFor(client, hash);
    const after = await Promise.all(chainsTouched.map(counterOf));
    const counters = Object.fromEntries(chainsTouched.map((c, i) => [c.id, { before: before[i], after: after[i] }]));
    const moved = chainsTouched.every((_, i) => expect(before[i], after[i]));
    return { mode, hash, ...receipt, counters, ok: receipt.status === "MINED_SUCCESS" && moved };
  });
}

async function enabledChecks(ownerSessions, name, details) {
  return step(name, async () => {
    const isPermissionEnabled = {};
    for (const d of details) {
      const chainId = Number(d.enableSessionData.enableSession.sessionToEnable.chainId);
      isPermissionEnabled[`${d.permissionId}@${chainId}`] = await ownerSessions.isPermissionEnabled({
        permissionId: d.permissionId,
        chainId,
      });
    }
    const checkEnabledPermissions = await ownerSessions.checkEnabledPermissions(details);
    const all = [
      ...Object.values(isPermissionEnabled),
      ...Object.values(checkEnabledPermissions).flatMap((byChain) => Object.values(byChain)),
    ];
    return { isPermissionEnabled, checkEnabledPermissions, ok: all.length > 0 && all.every((v) => v === true) };
  });
}

// -- the flow --------------------------------------------------------------------------------------------------------

async function main() {
  // Setup: is there a node at all? (The SDK would only say "fetch failed".)
  try {
    const probe = await realFetch(`${NODE_URL}/info`, {
      headers: API_KEY ? { "x-api-key": API_KEY } : {},
      signal: AbortSignal.timeout(5000),
    });
    if (!probe.ok) throw new Error(`GET ${NODE_URL}/info answered ${probe.status} ${await probe.text()}`);
  } catch (error) {
    fatal(
      "setup",
      `No MEE node answers at ${NODE_URL}/info: ${message(error.cause ?? error)}`,
      "Start the devnet with its node (`smartsessions devnet up`), or point --node-url at a running node.",
    );
  }
  for (const c of chains) {
    const code = await c.client.getCode({ address: c.multicall3 });
    if (chainDefs !== "bare" && (!code || code === "0x")) {
      fatal("setup", `No Multicall3 at ${c.multicall3} on chain ${c.id}: the SDK would fall back to an on-chain approval.`, "Restart the devnet with the current contract suite.");
    }
    if (!c.usdc) fatal("setup", `The devnet state names no USDC on chain ${c.id}.`);
  }

  const chainConfigurations = (accountAddress) =>
    chains.map((c) => ({
      chain: c.chain,
      transport: http(c.rpcUrl),
      version,
      ...(accountAddress ? { accountAddress: accountAddress(c.id) } : {}),
    }));
  const index = BigInt(opts.index);
  const ownerAccount = await toMultichainNexusAccount({ signer: owner, index, chainConfigurations: chainConfigurations() });
  const ownerClient = await createMeeClient({ account: ownerAccount, url: NODE_URL, apiKey: API_KEY });
  // The session signer's own client: its account is the owner's Nexus (spec §6), signed for by the session key.
  const sessionAccount = await toMultichainNexusAccount({
    signer: sessionSigner,
    chainConfigurations: chainConfigurations((id) => ownerAccount.addressOn(id, true)),
  });
  const sessionClient = await createMeeClient({ account: sessionAccount, url: NODE_URL, apiKey: API_KEY });
  const ownerSessions = meeSessionActions(ownerClient);
  const accountAddress = ownerAccount.addressOn(home.id, true);
  emit("setup", {
    node: NODE_URL,
    nodeInfo: { version: ownerClient.info.version, supportedChains: ownerClient.info.supportedChains.map((c) => Number(c.chainId)) },
    meeVersion: version.version,
    chains: chains.map((c) => c.id),
    chainDefs,
    owner: owner.address,
    sessionSigner: sessionSigner.address,
    account: accountAddress,
    sessionClientAccount: sessionAccount.addressOn(home.id, true),
    ok: sessionAccount.addressOn(home.id, true) === accountAddress,
    ...takeTraffic(),
  });
  if (opts["setup-only"]) return;

  // 1. prepareForPermissions: a USDC permit trigger pays for deploying the account, installing SmartSessions and
  //    adding it as a safe sender, on every devnet chain, in one super-transaction.
  if (!opts["skip-prepare"]) await prepare(ownerAccount, ownerClient, ownerSessions);

  if (sections.has("flow")) await singleChainFlow(ownerSessions, sessionClient);
  if (sections.has("policy")) await policyFlow(ownerSessions, sessionClient);
  if (sections.has("multichain")) await multichainFlow(ownerSessions, sessionClient);
}

async function prepare(ownerAccount, ownerClient, ownerSessions) {
  await step("prepareForPermissions", async () => {
    const result = await ownerSessions.prepareForPermissions({
      smartSessionsValidator: toSmartSessionsModule({ signer: owner }),
      feeToken,
      trigger: { tokenAddress: home.usdc, chainId: home.id, amount: TRIGGER_AMOUNT },
    });
    if (!result) throw new Error("prepareForPermissions had nothing to do: is this account already prepared? Use a fresh --index.");
    const receipt = await waitFor(ownerClient, result.hash);
    const perChain = {};
    for (const c of chains) {
      const address = ownerAccount.addressOn(c.id, true);
      const code = await c.client.getCode({ address });
      const deployed = Boolean(code && code !== "0x");
      const installed = deployed
        ? await c.client.readContract({ address, abi: ACCOUNT_ABI, functionName: "isModuleInstalled", args: [1n, SMART_SESSIONS, "0x"] })
        : false;
      const safeSender = await c.client.readContract({
        address: version.validatorAddress,
        abi: K1_ABI,
        functionName: "isSafeSender",
        args: [SMART_SESSIONS, address],
      });
      perChain[c.id] = { deployed, smartSessionsInstalled: installed, safeSender };
    }
    const allGood = Object.values(perChain).every((v) => v.deployed && v.smartSessionsInstalled && v.safeSender);
    // "permit": the SDK signed an EIP-2612 permit (it read the token through Multicall3); "onchain": it sent an
    // approval transaction and waited for its confirmations (no multicall3 in the chain's definition).
    const trigger = execSignatureType() === expectedTrigger;
    return { hash: result.hash, ...receipt, accounts: perChain, ok: receipt.status === "MINED_SUCCESS" && allGood && trigger };
  });
}

// 2.–5. Grant Counter.increment with the sudo policy; ENABLE_AND_USE, then USE twice; the permission is enabled; the
//       counter went up by three.
async function singleChainFlow(ownerSessions, sessionClient) {
  const start = await counterOf(home);
  const { _details: details } = await step("grantPermissionTypedDataSign", async () => {
    const details = await ownerSessions.grantPermissionTypedDataSign({
      redeemer: sessionSigner.address,
      actions: [
        { chainId: home.id, actionTarget: home.counter, actionTargetSelector: toFunctionSelector("increment()"), actionPolicies: [getSudoPolicy()] },
      ],
      feeToken,
      ...maxPayment,
    });
    return { _details: details, permissionIds: details.map((d) => d.permissionId), modes: details.map((d) => d.mode) };
  });
  const use = { sessionDetails: details, instructions: [call(home, "increment")], chainsTouched: [home] };
  await usePermission(sessionClient, "usePermission", { ...use, mode: "ENABLE_AND_USE" });
  await usePermission(sessionClient, "usePermission", { ...use, mode: "USE" });
  await usePermission(sessionClient, "usePermission", { ...use, mode: "USE" });
  await enabledChecks(ownerSessions, "permissionEnabled", details);
  await step("counter", async () => {
    const end = await counterOf(home);
    return { chainId: home.id, before: start, after: end, ok: end === start + 3n };
  });
}

// A universal-action policy: Counter.setNumber(n) only for n <= 10. A call inside the rule goes through, one outside
// it is refused with a clear error and the counter stays put.
async function policyFlow(ownerSessions, sessionClient) {
  const { _details: details } = await step("policy:grant", async () => {
    const policy = buildActionPolicy({
      type: "universal",
      rules: [{ condition: "lessThanOrEqual", calldataOffset: calldataArgument(1), comparisonValue: POLICY_LIMIT }],
    });
    const details = await ownerSessions.grantPermissionTypedDataSign({
      redeemer: sessionSigner.address,
      actions: [
        { chainId: home.id, actionTarget: home.counter, actionTargetSelector: toFunctionSelector("setNumber(uint256)"), actionPolicies: [policy] },
      ],
      feeToken,
      ...maxPayment,
    });
    return { _details: details, rule: `setNumber(n) with n <= ${POLICY_LIMIT}`, permissionIds: details.map((d) => d.permissionId) };
  });
  const allowed = 7n;
  await usePermission(sessionClient, "policy:allowed", {
    sessionDetails: details,
    mode: "ENABLE_AND_USE",
    instructions: [call(home, "setNumber", [allowed])],
    chainsTouched: [home],
    expect: (_before, after) => after === allowed,
  });
  await step("policy:refused", async () => {
    const before = await counterOf(home);
    const outside = POLICY_LIMIT + 1n;
    let refusal;
    try {
      // Asked to simulate, a node refuses the call at the quote (before anything is signed or paid). Without it,
      // Biconomy's node (and ours) would take the fee and retry the userOp until its window ends, then fail it.
      const { hash } = await meeSessionActions(sessionClient).usePermission({
        sessionDetails: details,
        mode: "USE",
        instructions: [call(home, "setNumber", [outside])],
        feeToken,
        simulation: { simulate: true },
      });
      try {
        const receipt = await waitFor(sessionClient, hash);
        refusal = { refused: false, hash, ...receipt };
      } catch (error) {
        refusal = { refused: true, at: "receipt", hash, error: message(error) };
      }
    } catch (error) {
      // Where the node said no: the last node call that failed (normally the quote's simulation).
      const refusedBy = traffic.filter((c) => c.status >= 400).at(-1);
      refusal = { refused: true, at: refusedBy ? `${refusedBy.call} ${refusedBy.status}` : "client", error: message(error) };
    }
    const after = await counterOf(home);
    return { value: outside, ...refusal, counter: { before, after }, ok: refusal.refused && after === before };
  });
}

// The same grant-and-use on two chains at once: one grant (one owner signature) for Counter.increment on both devnet
// chains, then ENABLE_AND_USE and USE twice with one increment per chain in each super-transaction.
async function multichainFlow(ownerSessions, sessionClient) {
  if (chains.length < 2) {
    emit("multichain", { skipped: "the devnet has a single chain" });
    return;
  }
  const two = chains.slice(0, 2);
  const start = await Promise.all(two.map(counterOf));
  const { _details: details } = await step("multichain:grant", async () => {
    const details = await ownerSessions.grantPermissionTypedDataSign({
      redeemer: sessionSigner.address,
      actions: two.map((c) => ({
        chainId: c.id,
        actionTarget: c.counter,
        actionTargetSelector: toFunctionSelector("increment()"),
        actionPolicies: [getSudoPolicy()],
      })),
      feeToken,
      ...maxPayment,
    });
    const chainIds = details.map((d) => Number(d.enableSessionData.enableSession.sessionToEnable.chainId));
    return { _details: details, chains: chainIds, permissionIds: details.map((d) => d.permissionId), ok: chainIds.length === 2 };
  });
  const use = { sessionDetails: details, instructions: two.map((c) => call(c, "increment")), chainsTouched: two };
  await usePermission(sessionClient, "multichain:usePermission", { ...use, mode: "ENABLE_AND_USE" });
  await usePermission(sessionClient, "multichain:usePermission", { ...use, mode: "USE" });
  await usePermission(sessionClient, "multichain:usePermission", { ...use, mode: "USE" });
  await enabledChecks(ownerSessions, "multichain:permissionEnabled", details);
  await step("multichain:counter", async () => {
    const end = await Promise.all(two.map(counterOf));
    const counters = Object.fromEntries(two.map((c, i) => [c.id, { before: start[i], after: end[i] }]));
    return { counters, ok: two.every((_, i) => end[i] === start[i] + 3n) };
  });
}

try {
  await main();
} catch (error) {
  if (!(error instanceof Stop)) {
    emit("error", { ok: false, error: message(error), ...takeTraffic() });
  }
}
out(json({ step: "done", ok: failed.length === 0, failed }));
process.exit(failed.length === 0 ? 0 : 1); // also ends any receipt polling a timeout left behind
