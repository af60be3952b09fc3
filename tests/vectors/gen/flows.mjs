// Flow vectors: values produced by running the REAL reference SDK (@biconomy/abstractjs 1.2.3 on top of
// @rhinestone/module-sdk 0.4.0 and viem) against a mocked JSON-RPC transport (viem `custom({ request })`) and a mocked
// global `fetch` for the MEE node. Nothing here re-implements a reference formula: every output value is what the SDK
// returned (or sent over the wire); values the SDK only READS from a chain are answered by the mock and recorded in
// the case as inputs (account address, SmartSessions nonce, session digest, token metadata, tx hash, ...).
//
// Determinism: all randomness comes from `rng`; during generation `crypto.getRandomValues` is replaced by a recorder
// that fills from `rng` (the SDK's `generateSalt` uses it), `Date.now` is fixed per case where the SDK reads it
// (nonce-key lane, quote timestamps) and `fetch` is the MEE-node mock. All three are restored at the end.
//
// Reference functions used (all imported from the package entry "@biconomy/abstractjs" = dist/_esm/index.js, which
// re-exports them; no private dist paths were needed):
//   toNexusAccount, toMultichainNexusAccount, getMEEVersion, createMeeClient, meeSessionActions
//   (grantPermissionTypedDataSign / grantPermissionPersonalSign), prepareInstallSmartSessions, prepareEnableSessions,
//   batchInstructions, createCondition, ConditionType, createConditionInputParam, runtimeERC20BalanceOf,
//   signQuote / signFusionQuote (→ signPermitQuote / signOnChainQuote) via the MEE client, stringify (tagged bigints),
//   getSudoPolicy / getUniversalActionPolicy / getTimeFramePolicy / getUsageLimitPolicy (module-sdk re-exports),
//   SmartSessionAbi / AccountFactoryAbi / EntrypointAbi / NexusImplementationAbi (for decoding the SDK's eth_calls).
import {
  AccountFactoryAbi,
  ConditionType,
  EntrypointAbi,
  NexusImplementationAbi,
  SMART_SESSIONS_ADDRESS,
  SmartSessionAbi,
  UNIVERSAL_ACTION_POLICY_ADDRESS,
  batchInstructions,
  createCondition,
  createConditionInputParam,
  createMeeClient,
  getMEEVersion,
  getSudoPolicy,
  getTimeFramePolicy,
  getUniversalActionPolicy,
  getUsageLimitPolicy,
  meeSessionActions,
  prepareEnableSessions,
  prepareInstallSmartSessions,
  runtimeERC20BalanceOf,
  stringify as abstractStringify,
  toMultichainNexusAccount,
  toNexusAccount,
} from "@biconomy/abstractjs";
import {
  custom,
  decodeAbiParameters,
  decodeFunctionData,
  domainSeparator as viemDomainSeparator,
  encodeAbiParameters,
  encodeFunctionData,
  erc20Abi,
  getAddress,
  hashStruct,
  hashTypedData,
  hexToBigInt,
  keccak256,
  multicall3Abi,
  pad,
  parseAbi,
  parseTransaction,
  stringify as viemStringify,
  toHex,
  zeroAddress,
  zeroHash,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { arbitrum, base, optimism } from "viem/chains";
import { GRANT_TYPES as SIGNED_SESSION_TYPES } from "./eip712_types.mjs";

// ------------------------------------------------------------------------------------------------------------------
// constants (inputs of the mocks, not reference outputs)

const CHAINS = { 8453: base, 10: optimism, 42161: arbitrum };
const USDC = {
  8453: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
  10: "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85",
  42161: "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
};
const MEE_URL = "https://network.biconomy.io/v1";
const NODE_ADDRESS = "0x4b19129EA58431A06D01054f69AcAe5de50633a8";
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const APPENDIX_OWNER_PK = "0x" + "01".repeat(32);
const APPENDIX_REDEEMER = "0x5050A4F4b3f9338C3472dcC01A87C76A144b3c9c";
const APPENDIX_ADDRESSES = {
  "2.1.0": "0xB26EbAe99D63001370F0b76f8DDfFb191DFe501D",
  "2.0.0": "0x7218a746ed6229ce2fA6552391305a3D762Ffed9",
};
const DUMMY_CODE = "0x6080604052348015600f57600080fd5b50";

// EIP-712 types of the SmartSession digest (spec §2.7 / §3.6) — used ONLY by the mock answering getSessionDigest.

const TOKEN_PERMIT_ABI = parseAbi([
  "function nonces(address owner) view returns (uint256)",
  "function name() view returns (string)",
  "function version() view returns (string)",
  "function DOMAIN_SEPARATOR() view returns (bytes32)",
  "function eip712Domain() view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)",
]);
const ACCOUNT_ID_ABI = parseAbi(["function accountId() view returns (string)"]);

// ------------------------------------------------------------------------------------------------------------------
// JSON helpers

/** viem-style: bigints → decimal strings (what the SDK's HTTP client does). */
const J = (x) => (x === undefined ? undefined : JSON.parse(viemStringify(x)));
const dec = (x) => BigInt(x).toString();

// ------------------------------------------------------------------------------------------------------------------
// global patches (getRandomValues / Date.now / fetch)

const G = {
  rng: null,
  randLog: [], // hex strings of every getRandomValues fill, in order
  filler: null, // optional override (array) => void
  nowMs: 1750000000123,
  fetchHandler: null,
  fetchLog: [],
};

function installPatches(rng) {
  G.rng = rng;
  const saved = {
    hadOwnGRV: Object.prototype.hasOwnProperty.call(globalThis.crypto, "getRandomValues"),
    grv: globalThis.crypto.getRandomValues,
    now: Date.now,
    fetch: globalThis.fetch,
  };
  globalThis.crypto.getRandomValues = (array) => {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    if (G.filler) G.filler(bytes);
    else G.rng.fill(bytes);
    G.randLog.push(toHex(bytes));
    return array;
  };
  Date.now = () => G.nowMs;
  globalThis.fetch = async (url, init = {}) => {
    const body = init.body ? JSON.parse(init.body) : undefined;
    G.fetchLog.push({ url: String(url), method: init.method, headers: init.headers, body, rawBody: init.body });
    if (!G.fetchHandler) throw new Error(`unmocked fetch ${url}`);
    const [status, json] = await G.fetchHandler(String(url), init.method, body);
    return new Response(JSON.stringify(json), { status, headers: { "content-type": "application/json" } });
  };
  return () => {
    if (saved.hadOwnGRV) globalThis.crypto.getRandomValues = saved.grv;
    else delete globalThis.crypto.getRandomValues;
    Date.now = saved.now;
    globalThis.fetch = saved.fetch;
  };
}

/** The MEE node mock: /info lists every chain as supported with USDC as fee token; /quote echoes a minimal quote. */
function meeNodeHandler(chainIds, onQuote) {
  return async (url, method, body) => {
    if (url === `${MEE_URL}/info` && method === "GET") {
      return [
        200,
        {
          version: "1.4.0",
          node: NODE_ADDRESS,
          supportedChains: chainIds.map((id) => ({ chainId: String(id), name: CHAINS[id].name })),
          supportedGasTokens: chainIds.map((id) => ({
            chainId: String(id),
            paymentTokens: [{ name: "USD Coin", address: USDC[id], symbol: "USDC", decimals: 6, permitEnabled: true }],
            isArbitraryFeeTokensSupported: false,
          })),
          supported_wallet_providers: [],
        },
      ];
    }
    if (url === `${MEE_URL}/quote` && method === "POST" && onQuote) return [200, onQuote(body)];
    return [404, { error: `unmocked ${method} ${url}` }];
  };
}

// ------------------------------------------------------------------------------------------------------------------
// JSON-RPC mock

/**
 * world = {
 *   accountAddress, deployed: bool, ssNonce: {chainId: bigint}, decimals: number, moduleInstalled: bool,
 *   epSeq: bigint, token: {...permit token state}, accountId, log: {computeAccountAddress: [], sessionDigest: [], ...}
 * }
 */
function newWorld(extra = {}) {
  return {
    accountAddress: null,
    deployed: false,
    ssNonce: {},
    decimals: 6,
    moduleInstalled: false,
    epSeq: 0n,
    token: null,
    accountId: "biconomy.nexus.1.2.0",
    txCount: 3n,
    block: 0x1234n,
    log: { computeAccountAddress: [], getSessionDigest: [], getNonceSS: [], getNonceEP: [], decimals: [], rawTx: [] },
    ...extra,
  };
}

function sessionDigestFor(world, chainId, args) {
  const [permissionId, account, session, mode] = args;
  const nonce = world.ssNonce[chainId] ?? 0n;
  const isGeneric = (sel) =>
    session.actions.some(
      (a) => a.actionTarget.toLowerCase() === "0x0000000000000000000000000000000000000001" && a.actionTargetSelector.toLowerCase() === sel,
    );
  const digest = hashStruct({
    types: SIGNED_SESSION_TYPES,
    primaryType: "SignedSession",
    data: {
      account,
      permissions: {
        permitGenericPolicy: isGeneric("0x00000001"),
        permitAdminAccess: isGeneric("0x00000002"),
        ignoreSecurityAttestations: Number(mode) === 2,
        permitERC4337Paymaster: session.permitERC4337Paymaster,
        userOpPolicies: session.userOpPolicies,
        erc7739Policies: session.erc7739Policies,
        actions: session.actions,
      },
      sessionValidator: session.sessionValidator,
      sessionValidatorInitData: session.sessionValidatorInitData,
      salt: session.salt,
      smartSession: SMART_SESSIONS_ADDRESS,
      nonce,
    },
  });
  world.log.getSessionDigest.push({ chainId, permissionId, account, mode: Number(mode), nonce, digest });
  return digest;
}

/** Answer one eth_call; returns hex return data, throws on revert/unknown. */
function answerCall(world, chainId, to, data) {
  const sel = data.slice(0, 10).toLowerCase();
  const enc = (types, values) => encodeAbiParameters(types, values);
  switch (sel) {
    case "0x9cfd7cff": // accountId()
      return enc([{ type: "string" }], [world.accountId]);
    case "0xfafa2b42": {
      // computeAccountAddress(bytes initData, bytes32 salt)
      const { args } = decodeFunctionData({ abi: AccountFactoryAbi, data });
      world.log.computeAccountAddress.push({ chainId, factory: to, initData: args[0], salt: args[1] });
      return enc([{ type: "address" }], [world.accountAddress]);
    }
    case "0x795f9269": {
      // SmartSessions.getNonce(bytes32 permissionId, address account)
      const { args } = decodeFunctionData({ abi: SmartSessionAbi, data });
      const nonce = world.ssNonce[chainId] ?? 0n;
      world.log.getNonceSS.push({ chainId, permissionId: args[0], account: args[1], nonce });
      return enc([{ type: "uint256" }], [nonce]);
    }
    case "0x05defba6": {
      // SmartSessions.getSessionDigest(bytes32, address, Session, uint8)
      const { args } = decodeFunctionData({ abi: SmartSessionAbi, data });
      return enc([{ type: "bytes32" }], [sessionDigestFor(world, chainId, args)]);
    }
    case "0x313ce567": // decimals()
      world.log.decimals.push({ chainId, token: to });
      return enc([{ type: "uint8" }], [world.decimals]);
    case "0x35567e1a": {
      // EntryPoint.getNonce(address sender, uint192 key)
      const { args } = decodeFunctionData({ abi: EntrypointAbi, data });
      const nonce = (args[1] << 64n) | world.epSeq;
      world.log.getNonceEP.push({ chainId, sender: args[0], key: args[1], nonce });
      return enc([{ type: "uint256" }], [nonce]);
    }
    case "0x112d3a7d": // isModuleInstalled(uint256,address,bytes)
      return enc([{ type: "bool" }], [world.moduleInstalled]);
    case "0x82ad56cb": {
      // Multicall3.aggregate3((address target, bool allowFailure, bytes callData)[])
      const { args } = decodeFunctionData({ abi: multicall3Abi, data });
      const results = args[0].map((c) => {
        try {
          return { success: true, returnData: answerCall(world, chainId, c.target, c.callData) };
        } catch {
          return { success: false, returnData: "0x" };
        }
      });
      return encodeFunctionResult3(results);
    }
    default:
      break;
  }
  const t = world.token;
  if (t && to.toLowerCase() === t.address.toLowerCase()) {
    switch (sel) {
      case "0x7ecebe00": // nonces(address)
        return enc([{ type: "uint256" }], [t.nonce]);
      case "0x06fdde03": // name()
        if (t.name === undefined) throw new Error("revert");
        return enc([{ type: "string" }], [t.name]);
      case "0x54fd4d50": // version()
        if (t.version === undefined) throw new Error("revert");
        return enc([{ type: "string" }], [t.version]);
      case "0x3644e515": // DOMAIN_SEPARATOR()
        return enc([{ type: "bytes32" }], [t.domainSeparator]);
      case "0x84b0196e": // eip712Domain()
        if (!t.eip712Domain) throw new Error("revert");
        return enc(TOKEN_PERMIT_ABI.find((x) => x.name === "eip712Domain").outputs, t.eip712Domain);
      default:
        break;
    }
  }
  throw new Error(`unmocked eth_call ${sel} to ${to} on ${chainId}`);
}

function encodeFunctionResult3(results) {
  return encodeAbiParameters(
    [
      {
        type: "tuple[]",
        components: [
          { name: "success", type: "bool" },
          { name: "returnData", type: "bytes" },
        ],
      },
    ],
    [results],
  );
}

function makeTransport(chainId, world) {
  const blockHash = (n) => keccak256(toHex(n, { size: 32 }));
  const mkBlock = (n) => ({
    number: toHex(n),
    hash: blockHash(n),
    parentHash: blockHash(n - 1n),
    timestamp: toHex(1750000000n + n),
    baseFeePerGas: "0x3b9aca00",
    gasLimit: "0x1c9c380",
    gasUsed: "0x0",
    miner: zeroAddress,
    extraData: "0x",
    logsBloom: "0x" + "00".repeat(256),
    nonce: "0x0000000000000000",
    sha3Uncles: zeroHash,
    stateRoot: zeroHash,
    receiptsRoot: zeroHash,
    transactionsRoot: zeroHash,
    difficulty: "0x0",
    totalDifficulty: "0x0",
    size: "0x100",
    mixHash: zeroHash,
    uncles: [],
    transactions: [],
    blobGasUsed: "0x0",
    excessBlobGas: "0x0",
  });
  return custom({
    async request({ method, params }) {
      switch (method) {
        case "eth_chainId":
          return toHex(chainId);
        case "eth_getCode": {
          const addr = params[0].toLowerCase();
          if (world.accountAddress && addr === world.accountAddress.toLowerCase()) return world.deployed ? DUMMY_CODE : "0x";
          return DUMMY_CODE;
        }
        case "eth_call": {
          const { to, data } = params[0];
          try {
            return answerCall(world, chainId, to, data);
          } catch (e) {
            if (String(e.message).startsWith("unmocked")) throw e;
            const err = new Error("execution reverted");
            err.code = 3;
            err.data = "0x";
            throw err;
          }
        }
        case "eth_blockNumber":
          return toHex(world.block);
        case "eth_getBlockByNumber":
          return mkBlock(world.block);
        case "eth_getTransactionCount":
          return toHex(world.txCount);
        case "eth_estimateGas":
          return "0x11170";
        case "eth_maxPriorityFeePerGas":
          return "0xf4240";
        case "eth_gasPrice":
          return "0x3b9aca00";
        case "eth_sendRawTransaction": {
          const hash = keccak256(params[0]);
          world.log.rawTx.push({ chainId, raw: params[0], hash });
          return hash;
        }
        case "eth_getTransactionReceipt": {
          const rec = world.log.rawTx.find((r) => r.hash === params[0]);
          if (!rec) return null;
          const tx = parseTransaction(rec.raw);
          const bn = world.block - 4n;
          return {
            blockHash: blockHash(bn),
            blockNumber: toHex(bn),
            contractAddress: null,
            cumulativeGasUsed: "0x11170",
            effectiveGasPrice: "0x3b9aca00",
            from: world.signerAddress ?? zeroAddress,
            gasUsed: "0x11170",
            logs: [],
            logsBloom: "0x" + "00".repeat(256),
            status: "0x1",
            to: tx.to,
            transactionHash: rec.hash,
            transactionIndex: "0x0",
            type: "0x2",
          };
        }
        default:
          throw new Error(`unmocked rpc ${method} on ${chainId}`);
      }
    },
  });
}

// ------------------------------------------------------------------------------------------------------------------
// random inputs

function randPrivateKey(rng) {
  for (;;) {
    const k = rng.bytes(32);
    const v = hexToBigInt(k);
    if (v > 0n && v < SECP256K1_N) return k;
  }
}
const randAddress = (rng) => getAddress(rng.address());
function randSubset(rng, arr, n) {
  const pool = [...arr];
  const out = [];
  while (out.length < n) out.push(pool.splice(rng.int(0, pool.length - 1), 1)[0]);
  return out;
}

/** A signer that records what the SDK asks it to sign (the signatures themselves come from viem's LocalAccount). */
function recordingSigner(privateKey, rec) {
  const acc = privateKeyToAccount(privateKey);
  return {
    ...acc,
    async signMessage(args) {
      rec.push({ kind: "signMessage", args });
      return acc.signMessage(args);
    },
    async signTypedData(args) {
      rec.push({ kind: "signTypedData", args });
      return acc.signTypedData(args);
    },
  };
}

async function makeMultichain({ privateKey, chainIds, version, world, index, signerLog }) {
  const signer = signerLog ? recordingSigner(privateKey, signerLog) : privateKeyToAccount(privateKey);
  world.signerAddress = signer.address;
  return toMultichainNexusAccount({
    signer,
    chainConfigurations: chainIds.map((id) => ({
      chain: CHAINS[id],
      transport: makeTransport(id, world),
      version: getMEEVersion(version),
    })),
    ...(index !== undefined ? { index } : {}),
  });
}

async function makeMeeClient(account, chainIds, onQuote) {
  G.fetchHandler = meeNodeHandler(chainIds, onQuote);
  return createMeeClient({ account, url: MEE_URL });
}

// ------------------------------------------------------------------------------------------------------------------
// 1. nexus_account.json

async function genNexusAccount(rng) {
  const cases = [];
  const versions = ["2.0.0", "2.1.0", "2.2.1", "2.3.0"];
  const plan = [];
  for (const v of versions) {
    for (const index of [0n, 1n, rng.bits(16), rng.bits(64), (1n << 64n) - 1n, rng.bits(64)]) {
      plan.push({ version: v, index, pk: randPrivateKey(rng) });
    }
  }
  for (const v of ["2.0.0", "2.1.0"]) plan.push({ version: v, index: 0n, pk: APPENDIX_OWNER_PK, appendix: true });
  for (const v of ["2.2.1", "2.3.0"]) plan.push({ version: v, index: 0n, pk: APPENDIX_OWNER_PK });
  for (const p of plan) {
    const chainId = rng.pick([8453, 10, 42161]);
    const cfg = getMEEVersion(p.version);
    const world = newWorld({ accountAddress: p.appendix ? APPENDIX_ADDRESSES[p.version] : randAddress(rng), accountId: cfg.accountId });
    const signer = privateKeyToAccount(p.pk);
    const account = await toNexusAccount({
      signer,
      chainConfiguration: { chain: CHAINS[chainId], transport: makeTransport(chainId, world), version: cfg },
      index: p.index,
    });
    const { factory, factoryData } = await account.getFactoryArgs();
    const initCode = account.getInitCode();
    const address = await account.getAddress();
    const call = world.log.computeAccountAddress[0];
    if (!call) throw new Error("computeAccountAddress was not called");
    const [bootstrap, bootstrapCall] = decodeAbiParameters(
      [
        { name: "bootstrap", type: "address" },
        { name: "bootstrapData", type: "bytes" },
      ],
      call.initData,
    );
    if (factory !== cfg.factoryAddress || address !== world.accountAddress) throw new Error("unexpected account");
    cases.push({
      owner: signer.address,
      ownerPrivateKey: p.pk,
      index: dec(p.index),
      meeVersion: p.version,
      chainId: chainId,
      bootstrapAddress: bootstrap,
      bootstrapCall,
      initData: call.initData,
      salt: call.salt,
      factoryAddress: factory,
      factoryData,
      initCode,
      accountAddress: address,
      accountAddressSource: p.appendix ? "mock (Appendix A.1 value)" : "mock (random)",
    });
  }
  return {
    description:
      "Nexus account factory data from the real toNexusAccount (abstractjs 1.2.3): factoryAddress/factoryData from " +
      "account.getFactoryArgs(), initCode from account.getInitCode(); initData and salt are the arguments the SDK passed " +
      "to the (mocked) factory.computeAccountAddress(bytes,bytes32) eth_call, bootstrapAddress/bootstrapCall are " +
      "initData decoded as abi (address,bytes). accountAddress is the MOCKED answer of computeAccountAddress (an input, " +
      "random, except the Appendix A owner at index 0 for 2.0.0/2.1.0 where the spec's real address is used). " +
      "MEE versions 2.0.0, 2.1.0, 2.2.1, 2.3.0 (all use initNexusWithDefaultValidatorAndOtherModulesNoRegistry with the " +
      "owner as default-validator init data; 3.0.0 uses a different default-validator init data and 1.x a registry " +
      "bootstrap, not included). index is a decimal string (uint, 0..2^64-1); chainId (int) is irrelevant to the bytes.",
    cases,
  };
}

// ------------------------------------------------------------------------------------------------------------------
// policies / actions for sessions

function paddingRule(style) {
  return style === "gt"
    ? { condition: 1, offset: 0n, isLimited: false, ref: zeroHash, usage: { limit: 0n, used: 0n } }
    : { condition: 0, offset: 0n, isLimited: false, ref: zeroHash, usage: { limit: 0n, used: 0n } };
}

function randRule(rng, offset) {
  const isLimited = rng.bool();
  return {
    condition: rng.int(0, 6),
    offset: offset ?? BigInt(rng.int(0, 5) * 32),
    isLimited,
    ref: pad(toHex(rng.bits(rng.pick([8, 32, 64, 120]))), { size: 32 }),
    usage: { limit: isLimited ? rng.bits(rng.pick([32, 96])) : 0n, used: 0n },
  };
}

/** Universal action policy via module-sdk getUniversalActionPolicy with exactly 16 rules (length <= 16). */
function randUniversal(rng, { length, rulesFn } = {}) {
  const len = length ?? rng.int(1, 5);
  const rules = [];
  for (let i = 0; i < len; i++) rules.push(rulesFn ? rulesFn(i) : randRule(rng));
  const style = rng.pick(["eq", "gt", "eq", "gt", "garbage"]);
  while (rules.length < 16) rules.push(style === "garbage" ? randRule(rng) : paddingRule(style));
  const cfg = { valueLimitPerUse: rng.bool() ? 0n : rng.bits(64), paramRules: { length: BigInt(len), rules } };
  return { policy: getUniversalActionPolicy(cfg), spec: { type: "universal", length: len, padding: style } };
}

function randPolicy(rng) {
  // weights: sudo 2/7, universal 1/7 (3136-byte initData, kept rare to bound the file size), time frame 2/7, usage 2/7
  const k = [0, 0, 1, 2, 2, 3, 3][rng.int(0, 6)];
  if (k === 0) return { policy: getSudoPolicy(), spec: { type: "sudo" } };
  if (k === 1) return randUniversal(rng);
  if (k === 2) {
    const validAfter = rng.bool() ? 0 : 1700000000 + rng.int(0, 100000000);
    const validUntil = rng.bool() ? 0 : validAfter + rng.int(1, 10000000);
    return { policy: getTimeFramePolicy({ validUntil, validAfter }), spec: { type: "timeFrame", validUntil, validAfter } };
  }
  const limit = rng.bits(rng.pick([8, 32, 64]));
  return { policy: getUsageLimitPolicy({ limit }), spec: { type: "usageLimit", limit: dec(limit) } };
}

function randAction(rng, chainId) {
  const n = rng.int(1, 3);
  const pols = [];
  for (let i = 0; i < n; i++) pols.push(randPolicy(rng));
  return {
    action: {
      actionTarget: randAddress(rng),
      actionTargetSelector: rng.bytes(4),
      actionPolicies: pols.map((p) => p.policy),
      chainId,
    },
    spec: pols.map((p) => p.spec),
  };
}

/** A user action on the fee token's transfer(); variant decides how addPaymentPolicyForActions treats it. */
function feeTokenAction(rng, chainId, token, variant) {
  let pol;
  if (variant === "sudo") pol = { policy: getSudoPolicy(), spec: { type: "sudo" } };
  else if (variant === "merge")
    // has an amount (offset 32) rule: EQ/LT/LTE ones get ref/limit += maxPaymentAmount
    pol = randUniversal(rng, {
      length: rng.int(1, 4),
      rulesFn: (i) => {
        const r = randRule(rng, i === 0 ? 32n : undefined);
        if (i === 0) r.condition = rng.pick([0, 2, 4, 1, 3]);
        return r;
      },
    });
  else
    // "append": no rule at offset 32 among ALL 16 rules → a new LTE rule goes to index `length`
    pol = randUniversal(rng, {
      length: rng.int(1, 15),
      rulesFn: () => randRule(rng, rng.pick([0n, 64n, 96n])),
    });
  if (variant === "append" && pol.spec.padding === "garbage") {
    // keep the "no offset-32 rule anywhere" premise
    return feeTokenAction(rng, chainId, token, variant);
  }
  return {
    action: { actionTarget: token, actionTargetSelector: "0xa9059cbb", actionPolicies: [pol.policy], chainId },
    spec: [{ ...pol.spec, feeTokenVariant: variant }],
  };
}

// ------------------------------------------------------------------------------------------------------------------
// 2. calldata.json

function recordExecutions(calls) {
  return calls.map((c) => ({
    to: c.to,
    value: dec(c.value ?? 0n),
    functionSig: c.functionSig,
    inputParams: c.inputParams.map((p) => ({
      fetcherType: Number(p.fetcherType),
      paramData: p.paramData,
      constraints: p.constraints.map((k) => ({ constraintType: Number(k.constraintType), referenceData: k.referenceData })),
    })),
    outputParams: c.outputParams.map((o) => ({ fetcherType: Number(o.fetcherType), paramData: o.paramData })),
  }));
}

function randCall(rng) {
  const kind = rng.int(0, 3);
  const data =
    kind === 0 ? "0x" : kind === 1 ? rng.bytes(4) : kind === 2 ? rng.bytes(4 + 32 * rng.int(1, 4)) : rng.bytes(rng.int(1, 70));
  return { to: randAddress(rng), value: rng.bool() ? 0n : rng.bits(rng.pick([16, 64, 128])), data };
}

async function genCalldata(rng) {
  const cases = [];
  // one 2.1.0 and one 2.0.0 account on Base (callData does not depend on version/chain for composability 1.0.0)
  const accounts = {};
  for (const v of ["2.0.0", "2.1.0"]) {
    const world = newWorld({ accountAddress: randAddress(rng) });
    const pk = randPrivateKey(rng);
    const mc = await makeMultichain({ privateKey: pk, chainIds: [8453], version: v, world });
    accounts[v] = { mc, world, deployment: mc.deploymentOn(8453, true), client: { account: mc } };
  }

  // single / batch: the account's encodeExecute / encodeExecuteBatch (what getQuote uses for non-composable instructions)
  for (let i = 0; i < 14; i++) {
    const { deployment } = accounts[rng.pick(["2.0.0", "2.1.0"])];
    const call = randCall(rng);
    const callData = await deployment.encodeExecute(call);
    cases.push({ kind: "single", calls: [J(call)], callData, builder: "nexusAccount.encodeExecute" });
  }
  for (let i = 0; i < 12; i++) {
    const { deployment } = accounts[rng.pick(["2.0.0", "2.1.0"])];
    const calls = Array.from({ length: rng.int(2, 5) }, () => randCall(rng));
    const callData = await deployment.encodeExecuteBatch(calls);
    cases.push({ kind: "batch", calls: J(calls), callData, builder: "nexusAccount.encodeExecuteBatch" });
  }

  const composable = async (label, instructions, extra = {}) => {
    for (const inx of instructions) {
      if (!inx.isComposable) throw new Error(`${label}: not composable`);
      const deployment = inx.chainId ? accounts[extra.version].mc.deploymentOn(inx.chainId, true) : null;
      const callData = await deployment.encodeExecuteComposable(inx.calls);
      cases.push({
        kind: "composable",
        builder: label,
        meeVersion: extra.version,
        accountAddress: accounts[extra.version].world.accountAddress,
        executions: recordExecutions(inx.calls),
        callData,
        ...(extra.meta ? { meta: J(extra.meta) } : {}),
      });
    }
  };

  // prepareInstallSmartSessions: installModule(1, SmartSessions, 0x) on the account + addSafeSender(SmartSessions) on K1
  for (const v of ["2.0.0", "2.1.0"]) {
    const { client } = accounts[v];
    const inx = await prepareInstallSmartSessions(client, SMART_SESSIONS_ADDRESS);
    await composable("prepareInstallSmartSessions", inx, { version: v });
  }

  // enableSessions([session]) via prepareEnableSessions (batched) and the full prepare batch (install ++ enable)
  const sessionActionsFor = (chainId, n) =>
    Array.from({ length: n }, () => {
      const acts = Array.from({ length: rng.int(1, 3) }, () => randAction(rng, chainId).action).map(
        ({ chainId: _c, ...a }) => a,
      );
      return { chainId, actions: acts };
    });
  for (let i = 0; i < 6; i++) {
    const v = i % 2 ? "2.1.0" : "2.0.0";
    const { client, mc, world } = accounts[v];
    const redeemer = randAddress(rng);
    const withFee = rng.bool();
    const maxPaymentAmount = withFee && rng.bool() ? rng.bits(40) : undefined;
    const sessionActions = sessionActionsFor(8453, rng.int(1, 2));
    G.randLog.length = 0;
    const enable = await prepareEnableSessions(
      client,
      { redeemer, actions: sessionActions, ...(maxPaymentAmount !== undefined ? { maxPaymentAmount } : {}) },
      SMART_SESSIONS_ADDRESS,
      withFee ? { address: USDC[8453], chainId: 8453 } : undefined,
    );
    const salts = [...G.randLog];
    const meta = {
      redeemer,
      sessionActionCount: sessionActions.length,
      feeToken: withFee ? { address: USDC[8453], chainId: 8453 } : null,
      maxPaymentAmount: maxPaymentAmount ?? null,
      feeTokenDecimals: world.decimals,
      salts,
      session: enable[0].sessionDetails.enableSessionData.enableSession.sessionToEnable,
    };
    await composable("prepareEnableSessions", enable[0].instructions, { version: v, meta });
    if (i < 3) {
      // install ++ enable, batched per chain (what prepareForPermissions → getQuote(batch) produces: one userOp)
      const install = await prepareInstallSmartSessions(client, SMART_SESSIONS_ADDRESS);
      const batched = await batchInstructions({
        accountAddress: mc.signer.address,
        instructions: [...install, ...enable[0].instructions],
        meeVersions: mc.deployments.map(({ version, chain }) => ({ chainId: chain.id, version })),
      });
      await composable("batchInstructions(prepareInstallSmartSessions ++ prepareEnableSessions)", batched, { version: v, meta });
    }
  }
  // unbatched enable (batchActions: false): one enableSessions per SessionAction, each with the isModuleInstalled
  // STATIC_CALL condition (createCondition → createConditionInputParam)
  for (let i = 0; i < 3; i++) {
    const v = i % 2 ? "2.0.0" : "2.1.0";
    const { client } = accounts[v];
    const redeemer = randAddress(rng);
    const sessionActions = sessionActionsFor(8453, 2);
    G.randLog.length = 0;
    const enable = await prepareEnableSessions(client, { redeemer, actions: sessionActions, batchActions: false }, SMART_SESSIONS_ADDRESS);
    const meta = { redeemer, sessionActions, batchActions: false, salts: [...G.randLog] };
    await composable("prepareEnableSessions(batchActions:false)", enable[0].instructions, { version: v, meta });
  }

  // generic buildComposable (type "default") with random ERC-20 calls, runtime balance params and conditions
  const CONDS = [ConditionType.EQ, ConditionType.GTE, ConditionType.LTE];
  for (let i = 0; i < 8; i++) {
    const v = rng.pick(["2.0.0", "2.1.0"]);
    const { mc, world } = accounts[v];
    const token = randAddress(rng);
    const recipient = randAddress(rng);
    const useRuntime = rng.bool();
    const amount = useRuntime
      ? runtimeERC20BalanceOf({
          targetAddress: world.accountAddress,
          tokenAddress: token,
          constraints: [],
        })
      : rng.bits(64);
    const conditions = [];
    const nCond = i < 4 ? 1 : rng.int(0, 2);
    for (let c = 0; c < nCond; c++) {
      conditions.push(
        createCondition({
          targetContract: token,
          functionAbi: erc20Abi,
          functionName: "balanceOf",
          args: [world.accountAddress],
          value: rng.bits(48),
          type: rng.pick(CONDS),
        }),
      );
    }
    const efficientMode = rng.int(0, 3) !== 0;
    const inx = await mc.buildComposable({
      type: "default",
      efficientMode,
      data: {
        to: token,
        abi: erc20Abi,
        functionName: rng.bool() ? "transfer" : "approve",
        args: [recipient, amount],
        chainId: 8453,
        ...(conditions.length ? { conditions } : {}),
        ...(rng.bool() ? { value: 0n } : {}),
      },
    });
    await composable("buildComposable(default)", inx, {
      version: v,
      meta: {
        token,
        recipient,
        amount: useRuntime ? "runtimeERC20BalanceOf(account, token)" : amount,
        efficientMode,
        conditions: conditions.map((c) => ({
          targetContract: c.targetContract,
          functionName: c.functionName,
          args: c.args,
          constraint: c.constraint,
        })),
      },
    });
  }
  // rawCalldata composable calls and a condition param produced directly by createConditionInputParam
  for (let i = 0; i < 4; i++) {
    const v = rng.pick(["2.0.0", "2.1.0"]);
    const { mc, world } = accounts[v];
    const to = randAddress(rng);
    const calldata = rng.bytes(4 + 32 * rng.int(0, 3));
    const value = rng.bool() ? rng.bits(32) : undefined;
    const inx = await mc.buildComposable({
      type: "rawCalldata",
      data: { to, calldata, chainId: 8453, ...(value !== undefined ? { value } : {}) },
    });
    if (i < 2) {
      // append a STATIC_CALL condition param exactly as createConditionInputParam builds it
      const cond = createCondition({
        targetContract: world.accountAddress,
        functionAbi: NexusImplementationAbi,
        functionName: "isModuleInstalled",
        args: [1n, SMART_SESSIONS_ADDRESS, "0x"],
        value: true,
        type: ConditionType.EQ,
      });
      inx[0].calls[0].inputParams.push(createConditionInputParam(cond));
    }
    await composable(i < 2 ? "buildComposable(rawCalldata)+createConditionInputParam(isModuleInstalled)" : "buildComposable(rawCalldata)", inx, {
      version: v,
      meta: { to, calldata, value: value ?? null },
    });
  }
  return {
    description:
      "ERC-7579 execute / Composability v1.0.0 executeComposable callData from the real Nexus account (MEE 2.0.0 / " +
      "2.1.0). single: nexusAccount.encodeExecute(call) (execute(0x00…, abi.encodePacked(to,value,data))); batch: " +
      "nexusAccount.encodeExecuteBatch(calls) (≥2 calls; the SDK uses single for one call). composable: " +
      "nexusAccount.encodeExecuteComposable(instruction.calls) (0xea5a6d91) where the instruction comes from the named " +
      "reference builder (`builder`): prepareInstallSmartSessions (installModule(1,SmartSessions,0x) on the account + " +
      "addSafeSender(SmartSessions) on the K1 validator), prepareEnableSessions (enableSessions([session]); salts from " +
      "the recorded getRandomValues fills in meta.salts; feeToken decimals mocked 6), batchInstructions of both (the " +
      "single prepare userOp), prepareEnableSessions with batchActions:false (adds the isModuleInstalled STATIC_CALL " +
      "condition), buildComposable default (ERC-20 transfer/approve, runtimeERC20BalanceOf, createCondition) and " +
      "rawCalldata (+ a createConditionInputParam param appended). executions[] is the SDK's ComposableCall list as " +
      "encoded (fetcherType/constraintType ints, value decimal string; gasLimit is not encoded and omitted). `meta` " +
      "documents builder inputs (informational).",
    cases,
  };
}

// ------------------------------------------------------------------------------------------------------------------
// 3. nonce_key.json

async function genNonceKey(rng) {
  const cases = [];
  const world = newWorld({ accountAddress: randAddress(rng) });
  const v = "2.1.0";
  const account = await toNexusAccount({
    signer: privateKeyToAccount(randPrivateKey(rng)),
    chainConfiguration: { chain: base, transport: makeTransport(8453, world), version: getMEEVersion(v) },
  });
  const plan = [{ nowMs: 1750000000123, mode: 0, validator: SMART_SESSIONS_ADDRESS, appendix: true }];
  plan.push({ nowMs: 1750000000123, mode: 0, validator: zeroAddress });
  plan.push({ nowMs: 16777215, mode: 0, validator: zeroAddress });
  plan.push({ nowMs: 16777214, mode: 1, validator: SMART_SESSIONS_ADDRESS });
  plan.push({ nowMs: 0, mode: 0, validator: SMART_SESSIONS_ADDRESS });
  const validators = [zeroAddress, SMART_SESSIONS_ADDRESS, getMEEVersion("2.1.0").validatorAddress, getMEEVersion("2.0.0").validatorAddress];
  for (let i = 0; i < 17; i++) {
    plan.push({
      nowMs: 1600000000000 + Number(rng.bits(38)),
      mode: rng.pick([0, 0, 0, 1]),
      validator: i % 4 === 3 ? randAddress(rng) : rng.pick(validators),
    });
  }
  for (const p of plan) {
    G.nowMs = p.nowMs;
    const address = await account.getAddress();
    const { nonceKey, nonce } = await account.getNonceWithKey(address, {
      moduleAddress: p.validator,
      validationMode: toHex(p.mode, { size: 1 }),
    });
    cases.push({
      nowMs: dec(p.nowMs),
      mode: p.mode,
      validator: p.validator,
      key: dec(nonceKey),
      keyHex: toHex(nonceKey, { size: 24 }),
      nonceSeq0: dec(nonce),
      ...(p.appendix ? { note: "Appendix A.2" } : {}),
    });
  }
  return {
    description:
      "Nonce key lane from the real nexusAccount.getNonceWithKey(address, {moduleAddress: validator, validationMode}) " +
      "with Date.now() fixed to nowMs (getDefaultNonceKey → NonceManager.getNonceWithKey: key = (nowMs mod 16777215) " +
      "as 3 bytes ‖ mode byte ‖ validator). key is the returned uint192 nonceKey (decimal string; keyHex = the same " +
      "as 24-byte hex). nonceSeq0 is the nonce returned by the mocked EntryPoint.getNonce(sender, key), answered as " +
      "key << 64 | 0 (sequence 0). mode is an int (0 = validation, 1 = module-enable).",
    cases,
  };
}

// ------------------------------------------------------------------------------------------------------------------
// 4. quote_signature.json

function fakeQuote(rng, { hash, chainIds, sponsored, quoteType, accountAddress }) {
  return {
    hash,
    node: NODE_ADDRESS,
    commitment: rng.bytes(32),
    quoteType,
    paymentInfo: {
      sponsored,
      sender: accountAddress,
      token: USDC[chainIds[0]],
      nonce: "0",
      callGasLimit: "75000",
      verificationGasLimit: "150000",
      chainId: String(chainIds[0]),
      tokenAmount: "0.1",
      tokenWeiAmount: "100000",
      tokenValue: "0.1",
    },
    userOps: [sponsored ? chainIds[0] : chainIds[0], ...chainIds].map((id) => ({
      userOp: { sender: accountAddress },
      userOpHash: rng.bytes(32),
      meeUserOpHash: rng.bytes(32),
      lowerBoundTimestamp: "1750000000",
      upperBoundTimestamp: "1750000180",
      chainId: String(id),
      shortEncoding: false,
    })),
  };
}

async function genQuoteSignature(rng) {
  const cases = [];
  // simple (signQuote)
  for (let i = 0; i < 12; i++) {
    const v = i % 2 ? "2.1.0" : "2.0.0";
    const pk = i === 0 ? APPENDIX_OWNER_PK : randPrivateKey(rng);
    const chainIds = randSubset(rng, [8453, 10, 42161], rng.int(1, 2));
    const world = newWorld({ accountAddress: randAddress(rng) });
    const mc = await makeMultichain({ privateKey: pk, chainIds, version: v, world });
    const client = await makeMeeClient(mc, [8453, 10, 42161]);
    const quoteHash = rng.bytes(32);
    const sponsored = rng.bool();
    const quote = fakeQuote(rng, { hash: quoteHash, chainIds, sponsored, quoteType: "simple", accountAddress: world.accountAddress });
    const signed = await client.signQuote({ quote });
    cases.push({
      kind: "simple",
      privateKey: pk,
      signer: mc.signer.address,
      meeVersion: v,
      chainIds,
      sponsored,
      quoteHash,
      signature: signed.signature,
      signedMeeVersionChainIds: signed.meeVersions.map((m) => m.chainId),
      isEIP712TrustedSponsorshipSupported: signed.isEIP712TrustedSponsorshipSupported,
    });
  }
  // permit (signFusionQuote → signPermitQuote)
  const domainTypes = ["default", "default", "default-with-salt", "legacy", "default-no-eip712Domain"];
  for (let i = 0; i < 10; i++) {
    const v = i % 2 ? "2.1.0" : "2.0.0";
    const pk = randPrivateKey(rng);
    const chainId = rng.pick([8453, 10, 42161]);
    const world = newWorld({ accountAddress: randAddress(rng) });
    const mc = await makeMultichain({ privateKey: pk, chainIds: [chainId], version: v, world });
    const client = await makeMeeClient(mc, [8453, 10, 42161]);
    const token = i < 3 ? USDC[chainId] : randAddress(rng);
    const name = rng.pick(["USD Coin", "Token " + rng.int(1, 999), "Wrapped Ether"]);
    const version = rng.pick(["1", "2"]);
    const nonce = rng.bool() ? BigInt(rng.int(0, 20)) : rng.bits(64);
    const dtype = domainTypes[i % domainTypes.length];
    const salt = dtype === "default-with-salt" ? rng.bytes(32) : pad(toHex(chainId), { size: 32 });
    const domain =
      dtype === "legacy"
        ? { name, version, verifyingContract: token, salt }
        : dtype === "default-with-salt"
          ? { name, version, chainId, verifyingContract: token, salt }
          : { name, version, chainId, verifyingContract: token };
    const ds = viemDomainSeparator({ domain });
    world.token = {
      address: token,
      nonce,
      name,
      version,
      domainSeparator: ds,
      eip712Domain:
        dtype === "legacy" || dtype === "default-no-eip712Domain"
          ? null
          : [dtype === "default" ? "0x0f" : "0x1f", name, version, BigInt(chainId), token, dtype === "default" ? zeroHash : salt, []],
    };
    const quoteHash = rng.bytes(32);
    const amount = rng.bits(rng.pick([24, 48, 80]));
    const approvalAmount = rng.bool() ? amount + rng.bits(24) : undefined;
    const trigger = { tokenAddress: token, chainId, amount, ...(approvalAmount !== undefined ? { approvalAmount } : {}) };
    const quote = fakeQuote(rng, { hash: quoteHash, chainIds: [chainId], sponsored: false, quoteType: "permit", accountAddress: world.accountAddress });
    const signed = await client.signFusionQuote({ fusionQuote: { quote, trigger } });
    if (!signed.signature.startsWith("0x177eee02")) throw new Error("permit did not produce a permit signature");
    cases.push({
      kind: "permit",
      privateKey: pk,
      meeVersion: v,
      quoteHash,
      token,
      chainId,
      owner: mc.signer.address,
      spender: mc.addressOn(chainId, true),
      amount: dec(approvalAmount ?? amount),
      triggerAmount: dec(amount),
      approvalAmount: approvalAmount !== undefined ? dec(approvalAmount) : null,
      nonce: dec(nonce),
      name,
      version,
      domainSeparator: ds,
      domainType: dtype === "default-no-eip712Domain" ? "default" : dtype,
      eip712DomainMocked: world.token.eip712Domain !== null,
      domain: J(domain),
      signature: signed.signature,
    });
  }
  // onchain (signFusionQuote → signOnChainQuote with a mocked sendRawTransaction / receipt)
  for (let i = 0; i < 8; i++) {
    const v = i % 2 ? "2.1.0" : "2.0.0";
    const pk = randPrivateKey(rng);
    const chainId = rng.pick([8453, 10, 42161]);
    const world = newWorld({ accountAddress: randAddress(rng), txCount: BigInt(rng.int(0, 500)) });
    const mc = await makeMultichain({ privateKey: pk, chainIds: [chainId], version: v, world });
    const client = await makeMeeClient(mc, [8453, 10, 42161]);
    const native = i >= 6;
    const token = native ? zeroAddress : rng.bool() ? USDC[chainId] : randAddress(rng);
    const quoteHash = rng.bytes(32);
    const amount = rng.bits(rng.pick([24, 48, 64]));
    const approvalAmount = !native && rng.bool() ? amount + rng.bits(20) : undefined;
    const recipientAddress = native && i === 7 ? randAddress(rng) : undefined;
    const trigger = {
      tokenAddress: token,
      chainId,
      amount,
      ...(approvalAmount !== undefined ? { approvalAmount } : {}),
      ...(recipientAddress ? { recipientAddress } : {}),
    };
    const quote = fakeQuote(rng, { hash: quoteHash, chainIds: [chainId], sponsored: false, quoteType: "onchain", accountAddress: world.accountAddress });
    const signed = await client.signFusionQuote({ fusionQuote: { quote, trigger } });
    const sent = world.log.rawTx[world.log.rawTx.length - 1];
    const tx = parseTransaction(sent.raw);
    cases.push({
      kind: "onchain",
      privateKey: pk,
      meeVersion: v,
      quoteHash,
      chainId,
      token,
      amount: dec(amount),
      approvalAmount: approvalAmount !== undefined ? dec(approvalAmount) : null,
      recipientAddress: recipientAddress ?? null,
      spender: mc.addressOn(chainId, true),
      tx: { to: tx.to, data: tx.data, value: dec(tx.value ?? 0n) },
      txHash: sent.hash,
      signature: signed.signature,
    });
  }
  return {
    description:
      "Quote signatures from the real MEE client. simple: meeClient.signQuote({quote}) for MEE 2.0.0/2.1.0 = " +
      "0x177eee00 ‖ personal_sign(quoteHash) by the account signer (only quote.hash matters; chainIds/sponsored " +
      "select the meeVersions attached). permit: meeClient.signFusionQuote with quoteType 'permit' → signPermitQuote; " +
      "token reads are MOCKED through Multicall3.aggregate3: nonces(owner)=nonce, name(), version(), " +
      "DOMAIN_SEPARATOR()=domainSeparator (computed by the mock with viem domainSeparator over `domain`), " +
      "eip712Domain() (reverts when eip712DomainMocked=false). owner = signer, spender = mocked account address, amount " +
      "= approvalAmount ?? triggerAmount, deadline = uint256(quoteHash); domainType is the form the SDK detected. " +
      "onchain: signFusionQuote with quoteType 'onchain' → signOnChainQuote: the SDK signs and sends a tx (ERC-20 " +
      "approve(spender, approvalAmount ?? amount) ‖ quoteHash, or for tokenAddress 0x0 Forwarder.forward(recipient) ‖ " +
      "quoteHash with value) through the mocked RPC; `tx` is that transaction decoded, txHash is the mock's " +
      "eth_sendRawTransaction answer (= keccak256(raw signed tx), nonce/gas/fees are mock inputs), the receipt mock " +
      "confirms it. signature = 0x177eee01 ‖ abi.encode(txHash, chainId).",
    cases,
  };
}

// ------------------------------------------------------------------------------------------------------------------
// 5. grant_flow.json

async function runGrant(inp) {
  inp.actionsJson = J(inp.actions); // snapshot of the input before the SDK sees it
  return runGrantInner(inp);
}

async function runGrantInner({ variant, ownerPrivateKey, meeVersion, chains, accountAddress, redeemer, actions, feeToken, maxPaymentAmount, nonces, decimals = 6, saltFiller }) {
  const world = newWorld({ accountAddress, ssNonce: Object.fromEntries(Object.entries(nonces).map(([k, v]) => [k, BigInt(v)])), decimals });
  const signerLog = [];
  const mc = await makeMultichain({ privateKey: ownerPrivateKey, chainIds: chains, version: meeVersion, world, signerLog });
  const client = await makeMeeClient(mc, [8453, 10, 42161]);
  const sessions = meeSessionActions(client);
  G.randLog.length = 0;
  G.filler = saltFiller ?? null;
  const params = {
    redeemer,
    actions,
    ...(feeToken ? { feeToken } : {}),
    ...(maxPaymentAmount !== undefined ? { maxPaymentAmount } : {}),
  };
  let result;
  try {
    result =
      variant === "typed"
        ? await sessions.grantPermissionTypedDataSign(params)
        : await sessions.grantPermissionPersonalSign(params);
  } finally {
    G.filler = null;
  }
  const randFills = [...G.randLog];
  const salts = result.map((d) => d.enableSessionData.enableSession.sessionToEnable.salt);
  if (randFills.length !== salts.length || randFills.some((r, i) => r !== salts[i]))
    throw new Error(`salt capture mismatch: ${randFills} vs ${salts}`);
  const signed = signerLog[signerLog.length - 1];
  const multichainDigest = signed.kind === "signMessage" ? signed.args.message.raw : hashTypedData(signed.args);
  return { result, salts, world, multichainDigest, signerAddress: mc.signer.address };
}

async function genGrantFlow(rng) {
  const cases = [];
  const recordCase = (inp, out, extra = {}) => ({
    variant: inp.variant,
    ownerPrivateKey: inp.ownerPrivateKey,
    owner: out.signerAddress,
    meeVersion: inp.meeVersion,
    chains: inp.chains,
    accountAddress: inp.accountAddress,
    redeemer: inp.redeemer,
    actions: inp.actionsJson ?? JSON.parse(viemStringify(inp.actions)),
    actionSpecs: inp.actionSpecs,
    feeToken: inp.feeToken ? { address: inp.feeToken.address, chainId: inp.feeToken.chainId } : null,
    maxPaymentAmount: inp.maxPaymentAmount !== undefined ? dec(inp.maxPaymentAmount) : null,
    feeTokenDecimals: out.world.decimals,
    decimalsRead: out.world.log.decimals.length > 0,
    salts: out.salts,
    nonces: Object.fromEntries(Object.entries(inp.nonces).map(([k, v]) => [k, dec(v)])),
    sessionDigests: out.world.log.getSessionDigest.map((d) => ({ chainId: d.chainId, digest: d.digest })),
    multichainDigest: out.multichainDigest,
    sessionDetails: JSON.parse(abstractStringify(out.result)),
    sessionDetailsWire: JSON.parse(viemStringify(out.result)),
    ...extra,
  });

  // Appendix A.3 (typed + personal): salt 0x…01, nonce 0, account 0xB26E…501D, USDC Base fee token, 5 USDC
  for (const variant of ["typed", "personal"]) {
    const inp = {
      variant,
      ownerPrivateKey: APPENDIX_OWNER_PK,
      meeVersion: "2.1.0",
      chains: [8453],
      accountAddress: APPENDIX_ADDRESSES["2.1.0"],
      redeemer: APPENDIX_REDEEMER,
      actions: [
        {
          actionTarget: "0x000000000000000000000000000000000000c0Fe",
          actionTargetSelector: "0xd09de08a",
          actionPolicies: [getSudoPolicy()],
          chainId: 8453,
        },
      ],
      actionSpecs: [[{ type: "sudo" }]],
      feeToken: { address: USDC[8453], chainId: 8453 },
      maxPaymentAmount: undefined,
      nonces: { 8453: 0n },
    };
    const out = await runGrant({
      ...inp,
      saltFiller: (b) => {
        b.fill(0);
        b[b.length - 1] = 1;
      },
    });
    cases.push(recordCase(inp, out, { note: "Appendix A.3 (salt forced to 0x…01 by the getRandomValues mock)" }));
  }

  // random cases: 2 variants × 2 versions × {1,2,3 chains} × {fee token / none}, plus extras
  const plan = [];
  for (const variant of ["typed", "personal"])
    for (const meeVersion of ["2.0.0", "2.1.0"])
      for (const nChains of [1, 2, 3]) for (const fee of [true, false]) plan.push({ variant, meeVersion, nChains, fee });
  // extras: fee token on a configured chain without actions; fee-token transfer variants
  plan.push({ variant: "typed", meeVersion: "2.1.0", nChains: 2, fee: true, feeChainWithoutActions: true });
  plan.push({ variant: "personal", meeVersion: "2.0.0", nChains: 3, fee: true, feeChainWithoutActions: true });
  for (const fv of ["merge", "append", "sudo", "merge", "append", "sudo"])
    plan.push({ variant: rng.pick(["typed", "personal"]), meeVersion: rng.pick(["2.0.0", "2.1.0"]), nChains: rng.int(1, 3), fee: true, feeVariant: fv });

  for (const p of plan) {
    const chains = randSubset(rng, [8453, 10, 42161], p.nChains);
    const actionChains = p.feeChainWithoutActions ? chains.slice(0, chains.length - 1) : chains;
    const feeChain = p.fee ? (p.feeChainWithoutActions ? chains[chains.length - 1] : rng.pick(actionChains)) : undefined;
    const feeToken = p.fee ? { address: USDC[feeChain], chainId: feeChain } : undefined;
    const maxPaymentAmount = p.fee && rng.bool() ? rng.bits(rng.pick([24, 40, 64])) : undefined;
    const items = [];
    for (const c of actionChains) {
      const n = rng.int(1, 4);
      for (let k = 0; k < n; k++) items.push(randAction(rng, c));
    }
    if (p.feeVariant) items.splice(rng.int(0, items.length), 0, feeTokenAction(rng, feeChain, feeToken.address, p.feeVariant));
    // shuffle lightly so the session (chain) order differs from the configured chain order
    for (let i = items.length - 1; i > 0; i--) {
      if (rng.int(0, 2) === 0) {
        const j = rng.int(0, i);
        [items[i], items[j]] = [items[j], items[i]];
      }
    }
    const nonces = {};
    for (const c of chains) nonces[c] = rng.pick([0n, 1n, BigInt(rng.int(2, 1000)), rng.bits(64)]);
    const inp = {
      variant: p.variant,
      ownerPrivateKey: randPrivateKey(rng),
      meeVersion: p.meeVersion,
      chains,
      accountAddress: randAddress(rng),
      redeemer: randAddress(rng),
      actions: items.map((x) => x.action),
      actionSpecs: items.map((x) => x.spec),
      feeToken,
      maxPaymentAmount,
      nonces,
    };
    const out = await runGrant(inp);
    cases.push(recordCase(inp, out, p.feeChainWithoutActions ? { note: "fee-token chain has no actions → no payment action is added" } : {}));
  }
  return {
    description:
      "meeSessionActions(meeClient).grantPermissionTypedDataSign / grantPermissionPersonalSign (abstractjs 1.2.3) run " +
      "for a toMultichainNexusAccount on `chains` (configured in that order, all with getMEEVersion(meeVersion)). " +
      "Mocks (inputs): /info lists 8453, 10, 42161 with USDC fee tokens; every chain's factory.computeAccountAddress " +
      "→ accountAddress; getCode of the account → 0x (not deployed), of version contracts → non-empty; " +
      "SmartSessions.getNonce(permissionId, account) → nonces[chainId]; SmartSessions.getSessionDigest(pid, account, " +
      "session, 2) → viem hashStruct(SignedSession) with that nonce (spec §2.7; also listed in sessionDigests in call " +
      "order); fee-token decimals() → feeTokenDecimals (int; the SDK only reads it when feeToken is set and " +
      "maxPaymentAmount is null — decimalsRead says whether it did). chainIds are JSON ints throughout. " +
      "Inputs: actions as passed (ActionData & {chainId:int}; module-sdk policy objects carry a redundant `address`); " +
      "actionSpecs (informational) say how each policy was built (getSudoPolicy, getUniversalActionPolicy with 16 " +
      "rules + padding style, getTimeFramePolicy, getUsageLimitPolicy; feeTokenVariant for transfer actions on the fee " +
      "token). salts = the getRandomValues fills in order (= one per session, sessions ordered by first appearance of " +
      "the chain in actions). multichainDigest: for personal the raw hash the SDK asked the signer to sign, for typed " +
      "viem hashTypedData of the typed data the SDK passed to the signer. sessionDetails = the SDK result serialised " +
      "with abstractjs stringify (bigints tagged {__type:'bigint',value}) then JSON.parse'd; sessionDetailsWire = the " +
      "same serialised with viem stringify (bigints → decimal strings, as the HTTP client sends them).",
    cases,
  };
}

// ------------------------------------------------------------------------------------------------------------------
// 6. mee_versions_wire.json

async function genMeeVersionsWire(rng) {
  const cases = [];
  for (const v of ["2.0.0", "2.1.0", "2.2.1", "2.3.0"]) {
    for (const chainIds of [[8453], [10, 8453]]) {
      const world = newWorld({ accountAddress: randAddress(rng), accountId: getMEEVersion(v).accountId });
      const mc = await makeMultichain({ privateKey: randPrivateKey(rng), chainIds, version: v, world });
      let captured = null;
      const client = await makeMeeClient(mc, [8453, 10, 42161], (body) => {
        captured = body;
        return { hash: rng.bytes(32), node: NODE_ADDRESS, commitment: rng.bytes(32), paymentInfo: body.paymentInfo, userOps: [] };
      });
      G.nowMs = 1750000000123;
      const instructions = await mc.build({
        type: "default",
        data: { chainId: chainIds[0], calls: [{ to: randAddress(rng), data: "0xd09de08a", value: 0n }] },
      });
      await client.getQuote({ instructions, feeToken: { address: USDC[chainIds[chainIds.length - 1]], chainId: chainIds[chainIds.length - 1] } });
      if (!captured) throw new Error("quote body not captured");
      cases.push({
        meeVersion: v,
        instructionChainId: chainIds[0],
        feeTokenChainId: chainIds[chainIds.length - 1],
        meeVersions: captured.meeVersions,
        version: captured.meeVersions[0].version,
        versionJson: JSON.stringify(captured.meeVersions[0].version),
      });
    }
  }
  return {
    description:
      "The `meeVersions` array of a real POST /quote request body (meeClient.getQuote with one default instruction on " +
      "instructionChainId and fee token USDC on feeTokenChainId; captured by the mocked fetch, parsed from the exact " +
      "body string). `version` is meeVersions[0].version, `versionJson` its exact JSON text (key order as sent). " +
      "chainId inside meeVersions is a JSON number.",
    cases,
  };
}

// ------------------------------------------------------------------------------------------------------------------

export async function generate(rng) {
  const restore = installPatches(rng);
  const origWarn = console.warn;
  const origInfo = console.info;
  const warnings = [];
  console.warn = (...a) => warnings.push(a.join(" "));
  console.info = (...a) => warnings.push(a.join(" "));
  try {
    const out = {};
    out["nexus_account.json"] = await genNexusAccount(rng);
    out["calldata.json"] = await genCalldata(rng);
    out["nonce_key.json"] = await genNonceKey(rng);
    out["quote_signature.json"] = await genQuoteSignature(rng);
    out["grant_flow.json"] = await genGrantFlow(rng);
    out["mee_versions_wire.json"] = await genMeeVersionsWire(rng);
    return out;
  } finally {
    console.warn = origWarn;
    console.info = origInfo;
    restore();
    G.fetchHandler = null;
    if (warnings.length) console.error(`flows: ${warnings.length} SDK warnings suppressed, e.g. ${warnings[0]}`);
  }
}
