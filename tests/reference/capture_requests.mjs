// The unmodified reference client (@biconomy/abstractjs 1.2.3) making one SDK call against the devnet chains and a
// stub MEE node, so that a test can compare the HTTP bodies it sends with what our Python SDK sends for the same
// inputs (tests/sdk/test_reference_bodies.py). The stub records the bodies; this script only makes the call.
//
//   node tests/reference/capture_requests.mjs < spec.json
//
// spec: {chains: [{chainId, rpcUrl, multicall3}], nodeUrl, apiKey, ownerKey, signerKey, version, index, nowMs,
//        case: {kind: "prepare" | "use" | "execute", ...}}
//   prepare: {feeToken, trigger?, sponsorship?, redeemer?, actions?: [{chainId, actionTarget, actionTargetSelector}]}
//            (each action gets getSudoPolicy())
//   use:     {sessionDetails (the reference's JSON), mode, feeToken? | sponsorship, instructions}
//   execute: {feeToken, instructions}
//   sessionQuote: meeClient.getSessionQuote then meeClient.executeSessionQuote({quoteType, quote});
//            {mode: "PREPARE" | "USE", feeToken? | sponsorship, instructions?, trigger?,
//             enableSession?: {redeemer, actions: [action], batchActions?} (PREPARE; by the owner),
//             sessionDetails? (USE: the reference's JSON; by the session signer on the owner's account)}
//            action: {chainId, actionTarget, actionTargetSelector} (one group, getSudoPolicy()) or
//            {build: {type, data}} (buildSessionAction; amounts as decimal strings)
//   instructions: [{chainId, calls: [{to, data, value?, gasLimit?}]}] (value and gasLimit as decimal strings)
//
// Determinism: Date.now() is spec.nowMs (quote windows; every nonce-key lane is the same, which the comparison
// ignores), and crypto.getRandomValues fills zeros (the session salts of prepare). stdout: {"ok": true} or
// {"ok": false, "error": ...}; exit code 0 either way once the call was made (a refusal of the stub is expected).
// A sessionQuote case adds to {"ok": true} the groups enableSession.actions was given (actionGroups) and the
// sessionDetails getSessionQuote returned, both as stringify wrote them (null when absent).
import {
  createMeeClient,
  getMEEVersion,
  buildSessionAction,
  getSudoPolicy,
  meeSessionActions,
  parse,
  stringify,
  toMultichainNexusAccount,
  toSmartSessionsModule,
} from "@biconomy/abstractjs";
import { readFileSync } from "node:fs";
import { defineChain, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const spec = JSON.parse(readFileSync(0, "utf8"));
for (const name of ["log", "info", "warn", "debug", "error"]) console[name] = () => {};
Date.now = () => spec.nowMs;
globalThis.crypto.getRandomValues = (array) => {
  new Uint8Array(array.buffer, array.byteOffset, array.byteLength).fill(0);
  return array;
};

const chains = spec.chains.map((c) => ({
  id: c.chainId,
  rpcUrl: c.rpcUrl,
  chain: defineChain({
    id: c.chainId,
    name: `devnet-${c.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [c.rpcUrl] } },
    contracts: { multicall3: { address: c.multicall3 } },
  }),
}));
const version = getMEEVersion(spec.version);
const owner = privateKeyToAccount(spec.ownerKey);
const signer = privateKeyToAccount(spec.signerKey);
const configurations = (accountAddress) =>
  chains.map((c) => ({ chain: c.chain, transport: http(c.rpcUrl), version, ...(accountAddress ? { accountAddress } : {}) }));
const big = (x) => (x === undefined || x === null ? undefined : BigInt(x));
const instructions = (list) =>
  list.map((i) => ({
    chainId: i.chainId,
    calls: i.calls.map((c) => ({
      to: c.to,
      data: c.data,
      ...(c.value !== undefined ? { value: big(c.value) } : {}),
      ...(c.gasLimit !== undefined ? { gasLimit: big(c.gasLimit) } : {}),
    })),
  }));
const AMOUNTS = ["amountLimitPerAction", "maxAmountLimit", "usageLimit"];
const actionGroups = (list) =>
  list.flatMap((a) =>
    a.build
      ? buildSessionAction({
          type: a.build.type,
          data: Object.fromEntries(Object.entries(a.build.data).map(([k, v]) => [k, AMOUNTS.includes(k) ? big(v) : v])),
        })
      : [
          {
            chainId: a.chainId,
            actions: [
              { actionTarget: a.actionTarget, actionTargetSelector: a.actionTargetSelector, actionPolicies: [getSudoPolicy()] },
            ],
          },
        ],
  );
const trigger = (t) => (t ? { tokenAddress: t.tokenAddress, chainId: t.chainId, amount: big(t.amount) } : undefined);

const sessionClientOf = async (ownerAccount) => {
  const sessionAccount = await toMultichainNexusAccount({
    signer,
    chainConfigurations: configurations(ownerAccount.addressOn(chains[0].id, true)),
  });
  return await createMeeClient({ account: sessionAccount, url: spec.nodeUrl, apiKey: spec.apiKey });
};

async function run() {
  const ownerAccount = await toMultichainNexusAccount({
    signer: owner,
    index: BigInt(spec.index ?? 0),
    chainConfigurations: configurations(),
  });
  const ownerClient = await createMeeClient({ account: ownerAccount, url: spec.nodeUrl, apiKey: spec.apiKey });
  const c = spec.case;
  const payment = c.sponsorship ? { sponsorship: true } : { feeToken: c.feeToken };
  if (c.kind === "prepare") {
    const actions = c.actions
      ? Object.values(
          c.actions.reduce((groups, a) => {
            groups[a.chainId] ??= { chainId: a.chainId, actions: [] };
            groups[a.chainId].actions.push({
              actionTarget: a.actionTarget,
              actionTargetSelector: a.actionTargetSelector,
              actionPolicies: [getSudoPolicy()],
            });
            return groups;
          }, {}),
        )
      : undefined;
    await meeSessionActions(ownerClient).prepareForPermissions({
      smartSessionsValidator: toSmartSessionsModule({ signer }),
      ...payment,
      ...(c.trigger ? { trigger: trigger(c.trigger) } : {}),
      ...(c.redeemer ? { redeemer: c.redeemer, actions } : {}),
    });
  } else if (c.kind === "use") {
    const sessionClient = await sessionClientOf(ownerAccount);
    await meeSessionActions(sessionClient).usePermission({
      sessionDetails: parse(c.sessionDetails),
      mode: c.mode,
      instructions: instructions(c.instructions),
      ...payment,
    });
  } else if (c.kind === "execute") {
    await ownerClient.execute({ instructions: instructions(c.instructions), ...payment });
  } else if (c.kind === "sessionQuote") {
    const groups = c.enableSession ? actionGroups(c.enableSession.actions) : undefined;
    const client = c.mode === "USE" ? await sessionClientOf(ownerAccount) : ownerClient;
    const sessionQuote = await client.getSessionQuote({
      mode: c.mode,
      ...payment,
      ...(c.instructions ? { instructions: instructions(c.instructions) } : {}),
      ...(c.trigger ? { trigger: trigger(c.trigger) } : {}),
      ...(c.enableSession
        ? {
            enableSession: {
              redeemer: c.enableSession.redeemer,
              actions: groups,
              ...(c.enableSession.batchActions !== undefined ? { batchActions: c.enableSession.batchActions } : {}),
            },
          }
        : {}),
      ...(c.sessionDetails ? { sessionDetails: parse(c.sessionDetails) } : {}),
    });
    if (!sessionQuote) throw new Error("getSessionQuote: nothing to do");
    await client.executeSessionQuote({ quoteType: sessionQuote.quoteType, quote: sessionQuote.quote });
    return {
      actionGroups: groups ? stringify(groups) : null,
      sessionDetails: sessionQuote.sessionDetails ? stringify(sessionQuote.sessionDetails) : null,
    };
  } else {
    throw new Error(`unknown case ${c.kind}`);
  }
  return {};
}

try {
  const output = await run();
  process.stdout.write(JSON.stringify({ ok: true, ...output }) + "\n");
} catch (error) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(error?.shortMessage ?? error?.message ?? error) }) + "\n");
}
