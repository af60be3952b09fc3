// Pure (no RPC, no MEE node) conformance vectors, computed by the TypeScript reference packages:
//   @rhinestone/module-sdk 0.4.0, @biconomy/abstractjs 1.2.3, viem, solady (JS LibZip), @openzeppelin/merkle-tree.
//
// Every expected value below is the return value of a reference function; this file only builds random inputs
// (from the deterministic rng) and converts values to the JSON conventions of tests/vectors/generate.mjs.
// The few `assert`s compare reference outputs with each other and with the worked example of the spec (Appendix A);
// they never replace a reference output.
//
// Functions that the packages do not export from their index are imported from their dist files by path:
//   * `encodeEnableSessionSignatureAbi`  – @rhinestone/module-sdk/_esm/module/smart-sessions/abi.js (flz payloads)
//   * `standardLeafHash`                 – @openzeppelin/merkle-tree/dist/hashes.js (cross-check of meeUserOpHash)
// The EIP-712 type table of abstractjs' `grantPermission` (`getTypedDataEnableSessionSignature`, module-private in
// dist/_esm/modules/validators/smartSessions/decorators/grantPermission.js) is not exported either; it is copied
// as GRANT_TYPES (eip712_types.mjs), and every use is cross-checked against the reference itself (module-sdk
// `hashChainSessions`, and abstractjs `grantPermissionTypedDataSign` / `grantPermissionPersonalSign` run with a
// mocked public client).
import { createRequire } from "node:module";
import {
  concatHex,
  encodeAbiParameters,
  encodeFunctionData,
  encodePacked,
  parseAbi,
  getAddress,
  hashStruct,
  hashTypedData,
  hexToBigInt,
  keccak256,
  maxUint256,
  padHex,
  size,
  toHex,
  zeroAddress,
  zeroHash,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getUserOperationHash, toPackedUserOperation } from "viem/account-abstraction";
import { LibZip } from "solady";
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import * as MS from "@rhinestone/module-sdk";
import * as AJ from "@biconomy/abstractjs";
import { encodeEnableSessionSignatureAbi } from "../../../node_modules/@rhinestone/module-sdk/_esm/module/smart-sessions/abi.js";
import { GRANT_DOMAIN, GRANT_TYPES } from "./eip712_types.mjs";
import { makeRng } from "./rng.mjs";

const require = createRequire(import.meta.url);
const { standardLeafHash } = require("@openzeppelin/merkle-tree/dist/hashes.js");

// ---------------------------------------------------------------------------------------------------------------
// constants and small helpers

const SMART_SESSIONS = MS.GLOBAL_CONSTANTS.SMART_SESSIONS_ADDRESS;
const SUDO = MS.GLOBAL_CONSTANTS.SUDO_POLICY_ADDRESS;
const UNI = MS.GLOBAL_CONSTANTS.UNIVERSAL_ACTION_POLICY_ADDRESS;
const ENTRY_POINT_V07 = "0x0000000071727De22E5E9d8BAf0edAc6f37da032";
const K1_200 = AJ.getMEEVersion("2.0.0").validatorAddress;
const K1_210 = AJ.getMEEVersion("2.1.0").validatorAddress;
const USDC_BASE = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
const TRANSFER = "0xa9059cbb";
const MAX_U64 = (1n << 64n) - 1n;
const MAX_U128 = (1n << 128n) - 1n;
const MAX_U48 = (1n << 48n) - 1n;



function assert(cond, msg) {
  if (!cond) throw new Error(`pure.mjs assertion failed: ${msg}`);
}
const eqHex = (a, b) => typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();

/** JSON conventions: bigint → decimal string, everything else unchanged (JS numbers stay JSON numbers). */
const J = (x) => JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
/** Like J, but JS numbers also become decimal strings. */
const Jdec = (x) =>
  JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === "bigint" || typeof v === "number" ? v.toString() : v)));

function errorMessage(e) {
  return e?.shortMessage ?? e?.message ?? String(e);
}

/** Only the ABI fields of a PolicyData (module-sdk builders add a redundant `address`). */
const pd = (p) => ({ policy: p.policy, initData: p.initData });

// ---------------------------------------------------------------------------------------------------------------
// random inputs (all randomness from rng)

function mkRand(rng) {
  const R = { maxInitData: 400 }; // max length of random (non-builder) policy initData
  R.addr = () => {
    const a = rng.address();
    const k = rng.int(0, 2);
    return k === 0 ? getAddress(a) : a; // mixed case (checksummed) or lower-case
  };
  R.bigBits = (maxBits) => rng.bits(rng.int(1, maxBits));
  /** A uint with a spread of magnitudes, including 0 and the maximum. */
  R.uint = (bits) => {
    const k = rng.int(0, 9);
    const max = (1n << BigInt(bits)) - 1n;
    if (k === 0) return 0n;
    if (k === 1) return max;
    if (k === 2) return BigInt(rng.int(1, 1000));
    if (k === 3) return max - BigInt(rng.int(0, 5));
    return rng.bits(rng.int(1, bits));
  };
  const NAMES = [
    "",
    "Permit",
    "Mail(address to,string contents)",
    "TransferWithAuthorization",
    "Order",
    "日本語のコンテンツ",
    "émoji 🎉🚀",
    "Ωμέγα",
    "naïve café",
    "null\u0000byte",
    "Ünïcödé ∑∫√",
    "한국어",
    "\u{1F600}\u{1F601}",
    "tab\tnew\nline",
    "x".repeat(100),
  ];
  R.str = () => {
    if (rng.int(0, 2) === 0) {
      const n = rng.int(1, 40);
      const b = rng.bytes(n).slice(2);
      let s = "";
      for (let i = 0; i < n; i++) s += String.fromCharCode(32 + (parseInt(b.slice(2 * i, 2 * i + 2), 16) % 95));
      return s;
    }
    return rng.pick(NAMES);
  };
  R.selector = () => rng.pick([rng.bytes(4), rng.bytes(4), rng.bytes(4), TRANSFER, "0xd09de08a", "0x00000000", "0xffffffff"]);

  R.rule = () => {
    const condition = rng.int(0, 6);
    const ok = rng.int(0, 4);
    const offset = ok === 0 ? 0n : ok === 1 ? 32n : ok === 2 ? BigInt(32 * rng.int(0, 10)) : ok === 3 ? MAX_U64 : rng.bits(64);
    let ref;
    if (condition === 6) {
      // IN_RANGE: uint128(min) ‖ uint128(max)
      const lo = R.uint(128);
      const hi = R.uint(128);
      ref = concatHex([padHex(toHex(lo), { size: 16 }), padHex(toHex(hi), { size: 16 })]);
    } else {
      const rk = rng.int(0, 3);
      ref = rk === 0 ? zeroHash : rk === 1 ? padHex(rng.address(), { size: 32 }) : padHex(toHex(R.uint(256)), { size: 32 });
    }
    const isLimited = rng.bool();
    return { condition, offset, isLimited, ref, usage: { limit: R.uint(256), used: rng.bool() ? 0n : R.uint(256) } };
  };
  R.uniRules = (n) => Array.from({ length: n }, () => R.rule());

  /** A PolicyData {policy, initData}; `big` allows 16-rule universal policies. */
  R.policy = (big = false) => {
    // universal policies are always 3136 bytes of initData, so they are kept rare to bound the file sizes
    const k = rng.int(0, big ? 13 : 12);
    switch (k) {
      case 0:
      case 1:
        return pd(MS.getSudoPolicy());
      case 2:
        return pd(MS.getTimeFramePolicy({ validUntil: Number(rng.bits(48)), validAfter: Number(rng.bits(48)) }));
      case 3:
        return pd(MS.getUsageLimitPolicy({ limit: R.uint(128) }));
      case 4:
        return pd(MS.getValueLimitPolicy({ limit: R.uint(256) }));
      case 5:
        return pd(
          MS.getSpendingLimitsPolicy(Array.from({ length: rng.int(0, 3) }, () => ({ token: R.addr(), limit: R.uint(256) }))),
        );
      case 12:
        return pd(uniPolicy(R.uint(256), R.uniRules(rng.int(1, 4))));
      case 13:
        return pd(uniPolicy(R.uint(256), R.uniRules(16)));
      default:
        return { policy: R.addr(), initData: rng.bytes(rng.int(0, R.maxInitData)) };
    }
  };
  R.policies = (max, big = false) => Array.from({ length: rng.int(0, max) }, () => R.policy(big));
  R.erc7739 = () => ({
    allowedERC7739Content: Array.from({ length: rng.int(0, 2) }, () => ({
      appDomainSeparator: rng.bytes(32),
      contentName: Array.from({ length: rng.int(0, 3) }, () => R.str()),
    })),
    erc1271Policies: R.policies(2),
  });
  R.action = (maxPolicies = 3, big = false) => ({
    actionTargetSelector: R.selector(),
    actionTarget: R.addr(),
    actionPolicies: R.policies(maxPolicies, big),
  });
  /** A random Session (ABI fields only). */
  R.session = (opts = {}) => {
    const big = opts.big ?? false;
    const nActions = opts.actions ?? rng.int(0, 5);
    const vlen = opts.validatorInitLen ?? rng.pick([0, 20, 20, 41, 200, rng.int(0, 300)]);
    return {
      sessionValidator: rng.pick([K1_200, K1_210, R.addr(), R.addr()]),
      sessionValidatorInitData: vlen === 20 && rng.bool() ? getAddress(rng.address()) : rng.bytes(vlen),
      salt: rng.bytes(32),
      userOpPolicies: opts.userOpPolicies ?? R.policies(3),
      erc7739Policies: opts.erc7739 === false ? { allowedERC7739Content: [], erc1271Policies: [] } : R.erc7739(),
      actions: Array.from({ length: nActions }, () => R.action(opts.maxPolicies ?? 3, big)),
      permitERC4337Paymaster: opts.permitERC4337Paymaster ?? rng.bool(),
    };
  };
  /** A big MEE-like session: Sudo userOp policy, no 7739, several actions with 16-rule universal policies. */
  R.bigSession = () => {
    const s = R.session({ big: true, actions: rng.int(2, 3), maxPolicies: 2, erc7739: rng.int(0, 3) === 0, userOpPolicies: [pd(MS.getSudoPolicy())], permitERC4337Paymaster: true, validatorInitLen: 20 });
    for (const a of s.actions) if (a.actionPolicies.length === 0) a.actionPolicies.push(pd(MS.getSudoPolicy()));
    s.actions[0].actionPolicies.unshift(pd(uniPolicy(0n, R.uniRules(rng.int(1, 16)))));
    s.actions[s.actions.length - 1].actionPolicies.push(pd(uniPolicy(R.uint(256), R.uniRules(16))));
    return s;
  };
  return R;
}

/** module-sdk getUniversalActionPolicy with the active rules padded to 16 by `pad` (default: the all-zero rule). */
const ZERO_RULE = { condition: 0, offset: 0n, isLimited: false, ref: zeroHash, usage: { limit: 0n, used: 0n } };
function uniPolicy(valueLimitPerUse, rules, pad = ZERO_RULE, length = BigInt(rules.length)) {
  const padded = [...rules];
  while (padded.length < 16) padded.push(pad);
  return MS.getUniversalActionPolicy({ valueLimitPerUse, paramRules: { length, rules: padded } });
}

/** SignedSession in the brief's shape (the reference spreads the Session too; encoders only read typed fields). */
function signedSession(session, { account, nonce, mode = 2, smartSession = SMART_SESSIONS, flags } = {}) {
  return {
    account,
    permissions: {
      permitGenericPolicy: flags?.permitGenericPolicy ?? false,
      permitAdminAccess: flags?.permitAdminAccess ?? false,
      ignoreSecurityAttestations: flags?.ignoreSecurityAttestations ?? mode === 2,
      permitERC4337Paymaster: session.permitERC4337Paymaster,
      userOpPolicies: session.userOpPolicies,
      erc7739Policies: session.erc7739Policies,
      actions: session.actions,
    },
    sessionValidator: session.sessionValidator,
    sessionValidatorInitData: session.sessionValidatorInitData,
    salt: session.salt,
    smartSession,
    nonce,
  };
}

/** viem hashStruct(SignedSession) with the reference's type table. */
const sessionDigestOf = (ss) => hashStruct({ data: ss, primaryType: "SignedSession", types: GRANT_TYPES });

// ---------------------------------------------------------------------------------------------------------------
// Appendix A (spec) worked example, rebuilt with the reference functions

function appendixA() {
  const ownerPk = "0x" + "01".repeat(32);
  const redeemerPk = "0x" + "02".repeat(32);
  const account = "0xB26EbAe99D63001370F0b76f8DDfFb191DFe501D";
  const [withPayment] = AJ.addPaymentPolicyForActions(
    [{ chainId: 8453, actions: [{ actionTargetSelector: "0xd09de08a", actionTarget: "0x000000000000000000000000000000000000c0Fe", actionPolicies: [MS.getSudoPolicy()] }] }],
    { address: USDC_BASE, chainId: 8453 },
    5000000n,
  );
  const session = {
    sessionValidator: K1_210,
    sessionValidatorInitData: privateKeyToAccount(redeemerPk).address,
    salt: padHex("0x01", { size: 32 }),
    userOpPolicies: [pd(MS.getSudoPolicy())],
    erc7739Policies: { allowedERC7739Content: [], erc1271Policies: [] },
    actions: withPayment.actions.map((a) => ({ actionTargetSelector: a.actionTargetSelector, actionTarget: a.actionTarget, actionPolicies: a.actionPolicies.map(pd) })),
    permitERC4337Paymaster: true,
  };
  assert(eqHex(keccak256(session.actions[1].actionPolicies[0].initData), "0x1f22501f0428d8e01b17fc4607973406d8f4bdafacbe0813f188c8464331e996"), "A.3 payment initData");
  assert(eqHex(session.sessionValidatorInitData, "0x5050A4F4b3f9338C3472dcC01A87C76A144b3c9c"), "A redeemer");
  return {
    ownerPk,
    redeemerPk,
    account,
    session,
    permissionId: "0x99495d22cbe27e3dd0fd90149032ba8d31c91ba0c13aed50401a740dd25fc43f",
    digestUnsafe: "0xc6c7e12c3003bbd952b0aa7d0f03f01b0d41c309deb0560242c8c36eef0f58f2",
    digestEnable: "0x0c6495d8c553c7e577b786f457f71b5ba51f8f7636e8aba0c1c95c72d8abd87d",
    multichainDigest: "0x8e135d3a40a47b92a4a0b4b51d28c5c9ce02c16557eabe9869a8cf72fdac0237",
    typedSig: "0xa32aa151802d292a81af75d8389a4e8a9c480b7bdb7aef61a4fecab4aa254e694502b75b0e9234ed590aa9105c4fb83d7c774bd320619d76fe0e46ba225eb3ec1c",
    personalSig: "0xb6fcd89a21d7b30b0e8f14c89429ab209e8d34ea2d423b89327ef25be972e083558d4357bdf39175fdbe36a755385802c128bfab2a873b380dc9e05b97cf54981c",
    userOpHash: "0x6e84c0a4903bea5804c80929db3788a6edfb8cfc6aa03fdca3c86c0e5c38e4be",
    otherLeaf: "0x625182d90dda33e1e17f9adfa974da182770e4732fcab09222f5fa09e9890c44",
    root: "0x6260a45686c7d54eea9f2fca71ce0946014cb469bb2aaaea041997d162989ced",
    quoteSig65: "0x63294bd7eda90d01794a0f1252c42a0c20d8752a53fdac23656e5eadbddfec2465ed696cec87c204d9c7534b0049c228494e84b99fc26665f0c792c64d3afa751b",
    shortSig:
      "0x177eee006260a45686c7d54eea9f2fca71ce0946014cb469bb2aaaea041997d162989ced000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000a00000000000000000000000000000000000000000000000000000000000000001625182d90dda33e1e17f9adfa974da182770e4732fcab09222f5fa09e9890c44000000000000000000000000000000000000000000000000000000000000004163294bd7eda90d01794a0f1252c42a0c20d8752a53fdac23656e5eadbddfec2465ed696cec87c204d9c7534b0049c228494e84b99fc26665f0c792c64d3afa751b00000000000000000000000000000000000000000000000000000000000000",
    enableSigKeccak: "0xc04cd62e71921f76110374db612f98ec7c5674d64f9f0093905bf29d57043d81",
    userOp: {
      sender: account,
      nonce: 15583473781657454347353692956697954556111071849332263858910775438844631187456n,
      initCode: "0x",
      // execute(bytes32 0, encodePacked(c0Fe, uint256 0, 0xd09de08a)) built with viem (the hex printed in spec A.4 has one
      // extra "0": 331 characters; the 164-byte value is asserted below)
      callData: encodeFunctionData({
        abi: parseAbi(["function execute(bytes32 mode, bytes executionCalldata)"]),
        functionName: "execute",
        args: [zeroHash, encodePacked(["address", "uint256", "bytes"], ["0x000000000000000000000000000000000000c0Fe", 0n, "0xd09de08a"])],
      }),
      callGasLimit: 100000n,
      verificationGasLimit: 250000n,
      preVerificationGas: 50000n,
      maxFeePerGas: 1000000000n,
      maxPriorityFeePerGas: 1000000n,
      paymasterAndData: "0x",
      signature: "0x",
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 1. permission_id.json

function genPermissionId(rng, R, A) {
  const cases = [{ session: A.session, permissionId: MS.getPermissionId({ session: A.session }) }];
  assert(eqHex(cases[0].permissionId, A.permissionId), "A.3 permissionId");
  const lens = [0, 20, 41, 200];
  for (let i = 0; i < 48; i++) {
    const session = i % 6 === 5 ? R.bigSession() : R.session({ validatorInitLen: i < 40 ? lens[i % 4] : undefined });
    cases.push({ session, permissionId: MS.getPermissionId({ session }) });
  }
  return {
    description:
      "permissionId = module-sdk getPermissionId({session}) (import '@rhinestone/module-sdk'). " +
      "Case: {session: Session, permissionId}. Depends only on sessionValidator, sessionValidatorInitData, salt. " +
      "Case 0 is the spec Appendix A.3 session.",
    cases,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 2. action_id.json

async function genActionId(rng, R) {
  const one = "0x0000000000000000000000000000000000000001";
  const inputs = [
    [one, "0x00000001"],
    [one, "0x00000002"],
    [one, "0xffffffff"],
    [zeroAddress, "0x00000000"],
    ["0xffffffffffffffffffffffffffffffffffffffff", "0xffffffff"],
    ["0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF", "0x00000000"],
    ["0x000000000000000000000000000000000000c0Fe", "0xd09de08a"],
    [USDC_BASE, TRANSFER],
    [USDC_BASE.toLowerCase(), "0xA9059CBB"],
    [SMART_SESSIONS, "0xffffffff"],
  ];
  for (let i = 0; i < 24; i++) inputs.push([R.addr(), i % 5 === 0 ? "0xffffffff" : rng.bytes(4)]);
  const cases = [];
  for (const [target, selector] of inputs) cases.push({ target, selector, actionId: await MS.getActionId({ target, selector }) });
  assert(eqHex(cases[0].actionId, "0xd884b6afa19f8ace90a388daca691e4e28f20cdac5aeefd46ad8bd1c074d28cf"), "FALLBACK_ACTIONID");
  assert(eqHex(cases[1].actionId, "0x986126569d6396d837d7adeb3ca726199afaf83546f38726e6f331bb92d8e9d6"), "FALLBACK_ACTIONID_SMARTSESSION_CALL");
  assert(eqHex(cases[6].actionId, "0xb21115646aa128587bc792c13e5a27e2a6be108d918b0c3110b580aa12509c27"), "A.3 actionId c0Fe");
  assert(eqHex(cases[7].actionId, "0x7ff5e760a190b87478a7184809cb1ad6b0f3f74bd383c0856cd634b47d18bf22"), "A.3 actionId USDC");
  return {
    description:
      "actionId = await module-sdk getActionId({target, selector}) (import '@rhinestone/module-sdk'), i.e. keccak256(encodePacked(address, bytes4)). " +
      "Case: {target, selector, actionId}. Addresses/selectors keep the input case (some checksummed, one upper-case selector).",
    cases,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 3. session_digest.json

function genSessionDigest(rng, R, A) {
  const cases = [];
  for (const mode of [2, 1, 0]) {
    const ss = signedSession(A.session, { account: A.account, nonce: 0n, mode });
    const d = sessionDigestOf(ss);
    if (mode === 2) assert(eqHex(d, A.digestUnsafe), "A.3 UNSAFE_ENABLE digest");
    if (mode === 1) assert(eqHex(d, A.digestEnable), "A.3 ENABLE digest");
    cases.push({ session: A.session, account: A.account, mode, nonce: 0n, smartSession: SMART_SESSIONS, sessionDigest: d });
  }
  for (let i = 0; i < 42; i++) {
    const session = i % 7 === 6 ? R.bigSession() : R.session();
    const mode = i % 3;
    const nk = i % 6;
    const nonce = nk === 0 ? 0n : nk === 1 ? maxUint256 : nk === 2 ? BigInt(rng.int(1, 20)) : rng.bits(256);
    const smartSession = i % 5 === 4 ? R.addr() : SMART_SESSIONS;
    const account = R.addr();
    const ss = signedSession(session, { account, nonce, mode, smartSession });
    cases.push({ session, account, mode, nonce, smartSession, sessionDigest: sessionDigestOf(ss) });
  }
  return {
    description:
      "sessionDigest = viem hashStruct({primaryType: 'SignedSession', types, data}) (import 'viem') with the EIP-712 type table of " +
      "abstractjs grantPermission / module-sdk hashChainSessions, over SignedSession {account, permissions: {permitGenericPolicy: false, " +
      "permitAdminAccess: false, ignoreSecurityAttestations: mode == 2, permitERC4337Paymaster, userOpPolicies, erc7739Policies, actions}, " +
      "sessionValidator, sessionValidatorInitData, salt, smartSession, nonce} (= SmartSession.getSessionDigest / HashLib._sessionDigest). " +
      "Case: {session: Session, account, mode: int 0|1|2, nonce: decimal string, smartSession, sessionDigest}. Cases 0-2 are the spec " +
      "Appendix A.3 session (modes 2, 1, 0).",
    cases: J(cases),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 4. hash_chain_sessions.json

function chainSessionsToRef(chainSessions) {
  return chainSessions.map(({ chainId, session }) => ({ chainId, session }));
}

function genHashChainSessions(rng, R, A) {
  const cases = [];
  const push = (chainSessions) => {
    const hash = MS.hashChainSessions(chainSessionsToRef(chainSessions));
    const viaTypes = hashTypedData({ domain: GRANT_DOMAIN, types: GRANT_TYPES, primaryType: "MultiChainSession", message: { sessionsAndChainIds: chainSessions } });
    assert(hash === viaTypes, "GRANT_TYPES table == module-sdk hashChainSessions table");
    const sessionDigests = chainSessions.map((c) => sessionDigestOf(c.session));
    cases.push({ chainSessions, sessionDigests, hash });
    return hash;
  };
  // Appendix A
  const hA = push([{ chainId: 8453n, session: signedSession(A.session, { account: A.account, nonce: 0n, mode: 2 }) }]);
  assert(eqHex(hA, A.multichainDigest), "A.3 multichainDigest");
  const chainIdOf = () => {
    const k = rng.int(0, 5);
    return k === 0 ? MAX_U64 : k === 1 ? rng.pick([1n, 10n, 137n, 8453n, 42161n, 11155111n]) : k === 2 ? BigInt(rng.int(1, 100000)) : rng.bits(64) | 1n;
  };
  const randomChainSessions = (n, opts = {}) => {
    const account = R.addr();
    const out = [];
    for (let c = 0; c < n; c++) {
      const session = opts.big ? R.bigSession() : R.session({ actions: opts.actions ?? rng.int(0, 3), maxPolicies: 2 });
      const sdk = rng.int(0, 3) !== 0; // mostly the SDK's fixed flags; otherwise arbitrary (contract-derived) flags
      const ss = signedSession(session, {
        account: opts.sameAccount === false ? R.addr() : account,
        nonce: rng.pick([0n, 0n, 1n, BigInt(rng.int(2, 1000)), rng.bits(256), maxUint256]),
        mode: 2,
        smartSession: rng.int(0, 5) === 0 ? R.addr() : SMART_SESSIONS,
        flags: sdk ? undefined : { permitGenericPolicy: rng.bool(), permitAdminAccess: rng.bool(), ignoreSecurityAttestations: rng.bool() },
      });
      out.push({ chainId: chainIdOf(), session: ss });
    }
    return out;
  };
  // 1 chain × 1 action, 4 chains × 4 actions
  push(randomChainSessions(1, { actions: 1 }));
  push(randomChainSessions(4, { actions: 4 }));
  for (let i = 0; i < 40; i++) {
    const n = 1 + (i % 5);
    push(randomChainSessions(n, { big: i % 13 === 12, sameAccount: i % 4 !== 3 }));
  }
  return {
    description:
      "hash = module-sdk hashChainSessions(chainSessions) (import '@rhinestone/module-sdk'; EIP-712 MultiChainSession digest, domain " +
      "{name: 'SmartSession', version: '1'}). sessionDigests[i] = viem hashStruct(SignedSession) of chainSessions[i].session (same type " +
      "table). Case: {chainSessions: [{chainId: decimal string (uint64), session: SignedSession}], sessionDigests, hash}. Most sessions use " +
      "the SDK flags (false, false, true); some use arbitrary permission flags and smartSession addresses. Case 0 is spec Appendix A.3; " +
      "case 1 is 1 chain x 1 action, case 2 is 4 chains x 4 actions.",
    cases: J(cases),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 5. grant_signature.json

/** Run the real abstractjs grantPermission{TypedData,Personal}Sign with a mocked public client; returns the owner signature. */
async function viaGrantPermission(pk, chainSessions, personal) {
  const signer = privateKeyToAccount(pk);
  const params = chainSessions.map(({ chainId, session: ss }) => ({
    account: {
      signer,
      client: {
        chain: { id: chainId },
        readContract: async ({ functionName }) => (functionName === "getNonce" ? ss.nonce : sessionDigestOf(ss)),
      },
      getAddress: async () => ss.account,
      version: { defaultValidatorAddress: zeroAddress },
    },
    redeemer: "0x2222222222222222222222222222222222222222",
    chainId,
    sessionValidator: ss.sessionValidator,
    sessionValidatorInitData: ss.sessionValidatorInitData,
    salt: ss.salt,
    userOpPolicies: ss.permissions.userOpPolicies,
    erc7739Policies: ss.permissions.erc7739Policies,
    actions: ss.permissions.actions,
    permitERC4337Paymaster: ss.permissions.permitERC4337Paymaster,
  }));
  const fn = personal ? AJ.grantPermissionPersonalSign : AJ.grantPermissionTypedDataSign;
  const details = await fn(undefined, params);
  for (let i = 0; i < details.length; i++) {
    assert(details[i].enableSessionData.enableSession.chainDigestIndex === i, "grantPermission chainDigestIndex");
    assert(eqHex(details[i].enableSessionData.enableSession.hashesAndChainIds[i].sessionDigest, sessionDigestOf(chainSessions[i].session)), "grantPermission digest echo");
  }
  return details[0].enableSessionData.enableSession.permissionEnableSig;
}

async function genGrantSignature(rng, R, A) {
  const cases = [];
  const push = async (privateKey, chainSessions) => {
    const signer = privateKeyToAccount(privateKey);
    const multichainDigest = MS.hashChainSessions(chainSessions);
    const typedDataSignature = await signer.signTypedData({ domain: GRANT_DOMAIN, types: GRANT_TYPES, primaryType: "MultiChainSession", message: { sessionsAndChainIds: chainSessions } });
    const personalSignature = await signer.signMessage({ message: { raw: multichainDigest } });
    assert(typedDataSignature === (await viaGrantPermission(privateKey, chainSessions, false)), "typed sig == abstractjs grantPermissionTypedDataSign");
    assert(personalSignature === (await viaGrantPermission(privateKey, chainSessions, true)), "personal sig == abstractjs grantPermissionPersonalSign");
    cases.push({ privateKey, chainSessions, multichainDigest, typedDataSignature, personalSignature });
    return cases[cases.length - 1];
  };
  const a = await push(A.ownerPk, [{ chainId: 8453n, session: signedSession(A.session, { account: A.account, nonce: 0n, mode: 2 }) }]);
  assert(eqHex(a.multichainDigest, A.multichainDigest) && a.typedDataSignature === A.typedSig && a.personalSignature === A.personalSig, "A.3 signatures");
  for (let i = 0; i < 22; i++) {
    let pk = rng.bytes(32);
    if (i === 0) pk = "0x" + "00".repeat(31) + "02";
    if (i === 1) pk = "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140"; // n - 1
    const n = 1 + (i % 4);
    const account = R.addr();
    const used = new Set();
    const chainSessions = [];
    for (let c = 0; c < n; c++) {
      let chainId;
      do chainId = rng.pick([1n, 10n, 137n, 8453n, 42161n, BigInt(rng.int(1, 1 << 30)), MAX_U64, rng.bits(64) | 1n]);
      while (used.has(chainId));
      used.add(chainId);
      const session = i % 5 === 4 ? R.bigSession() : R.session({ userOpPolicies: [pd(MS.getSudoPolicy())], permitERC4337Paymaster: true, erc7739: rng.bool() });
      chainSessions.push({ chainId, session: signedSession(session, { account, nonce: rng.pick([0n, 1n, BigInt(rng.int(2, 99)), rng.bits(256)]), mode: 2 }) });
    }
    await push(pk, chainSessions);
  }
  return {
    description:
      "Owner enable-signature of a grant. multichainDigest = module-sdk hashChainSessions(chainSessions). typedDataSignature = viem " +
      "privateKeyToAccount(privateKey).signTypedData({domain: {name: 'SmartSession', version: '1'}, types (abstractjs grantPermission table), " +
      "primaryType: 'MultiChainSession', message: {sessionsAndChainIds: chainSessions}}); personalSignature = signMessage({message: {raw: " +
      "multichainDigest}}). Both were also checked equal to the permissionEnableSig returned by abstractjs grantPermissionTypedDataSign / " +
      "grantPermissionPersonalSign (import '@biconomy/abstractjs') run with a mocked public client. chainSessions use the SDK flags " +
      "(false, false, true) and smartSession = SmartSessions; chain ids are distinct within a case. Case: {privateKey, chainSessions, " +
      "multichainDigest, typedDataSignature, personalSignature}. Case 0 is spec Appendix A.3 (owner key 0x01..01).",
    cases: J(cases),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 6. smart_session_signature.json

async function genSmartSessionSignature(rng, R, A) {
  const cases = [];
  const decodeJSON = (encoded, accountType) => {
    try {
      return J(MS.decodeSmartSessionSignature({ signature: encoded, account: { type: accountType ?? "nexus" } }));
    } catch (e) {
      return { error: errorMessage(e) };
    }
  };
  const pushUse = (permissionId, signature) => {
    const encoded = MS.encodeSmartSessionSignature({ mode: MS.SmartSessionMode.USE, permissionId, signature });
    cases.push({ mode: "0x00", permissionId, signature, enableSessionData: null, encoded, decoded: decodeJSON(encoded, "nexus") });
    return encoded;
  };
  const pushEnable = (mode, signature, enableSession, validator, accountType) => {
    const enableSessionData = { enableSession, validator, accountType };
    const permissionId = MS.getPermissionId({ session: enableSession.sessionToEnable });
    const encoded = MS.encodeSmartSessionSignature({ mode, permissionId, signature, enableSessionData });
    cases.push({ mode, permissionId, signature, enableSessionData, encoded, decoded: decodeJSON(encoded, accountType) });
    return encoded;
  };
  // Appendix A.5
  const useA = pushUse(A.permissionId, A.shortSig);
  assert(size(useA) === 325, "A.5 USE length");
  const encA = pushEnable(
    MS.SmartSessionMode.UNSAFE_ENABLE,
    A.shortSig,
    { chainDigestIndex: 0, hashesAndChainIds: [{ chainId: 8453n, sessionDigest: A.digestUnsafe }], sessionToEnable: A.session, permissionEnableSig: A.typedSig },
    zeroAddress,
    "nexus",
  );
  assert(size(encA) === 638 && keccak256(encA) === A.enableSigKeccak, "A.5 UNSAFE_ENABLE encoding");

  // USE with various signature lengths
  const lens = [0, 65, 292, 1000];
  for (let i = 0; i < 16; i++) {
    const pid = i % 2 ? MS.getPermissionId({ session: R.session({ actions: 0 }) }) : rng.bytes(32);
    pushUse(pid, rng.bytes(lens[i % 4]));
  }
  // ENABLE / UNSAFE_ENABLE
  const types = ["nexus", "safe", "erc7579-implementation", "kernel"];
  for (let i = 0; i < 48; i++) {
    const mode = i % 2 ? MS.SmartSessionMode.UNSAFE_ENABLE : MS.SmartSessionMode.ENABLE;
    const accountType = types[(i >> 1) % 4];
    const big = i % 4 === 0;
    const sessionToEnable = big ? R.bigSession() : R.session();
    const n = 1 + (i % 4);
    const idx = rng.int(0, n - 1);
    const hashesAndChainIds = [];
    for (let c = 0; c < n; c++) {
      const chainId = rng.pick([1n, 8453n, 10n, MAX_U64, rng.bits(64)]);
      const sessionDigest =
        c === idx
          ? sessionDigestOf(signedSession(sessionToEnable, { account: R.addr(), nonce: rng.pick([0n, 1n, rng.bits(256)]), mode: mode === "0x02" ? 2 : 1 }))
          : rng.bytes(32);
      hashesAndChainIds.push({ chainId, sessionDigest });
    }
    let permissionEnableSig;
    if (rng.bool()) {
      const signer = privateKeyToAccount(rng.bytes(32));
      permissionEnableSig = await signer.signMessage({ message: { raw: rng.bytes(32) } });
    } else permissionEnableSig = rng.bytes(rng.pick([65, 65, 1, 97, 200]));
    const validator = rng.pick([zeroAddress, K1_200, K1_210, R.addr()]);
    const signature = rng.bytes(rng.pick([0, 65, 292, 356, 1000]));
    pushEnable(mode, signature, { chainDigestIndex: idx, hashesAndChainIds, sessionToEnable, permissionEnableSig }, validator, accountType);
  }
  return {
    description:
      "encoded = module-sdk encodeSmartSessionSignature({mode, permissionId, signature, enableSessionData}); decoded = module-sdk " +
      "decodeSmartSessionSignature({signature: encoded, account: {type: enableSessionData?.accountType ?? 'nexus'}}) (import " +
      "'@rhinestone/module-sdk'), converted to JSON (bigint -> decimal string, chainDigestIndex stays an int; decoded sessions have the " +
      "ABI field names and viem's checksummed addresses). Case: {mode: '0x00'|'0x01'|'0x02', permissionId, signature, enableSessionData: null | " +
      "{enableSession: {chainDigestIndex: int, hashesAndChainIds: [{chainId, sessionDigest}], sessionToEnable: Session, permissionEnableSig " +
      "(raw, without validator prefix)}, validator, accountType}, encoded, decoded}. For ENABLE modes the permissionId field is " +
      "getPermissionId(sessionToEnable) (ignored by the encoder). decoded is {mode, permissionId, signature} for USE and additionally " +
      "enableSessionData for ENABLE modes; for a USE signature with an EMPTY session-validator signature the reference decoder throws " +
      "(viem slice out of bounds) and decoded is {error: '<message>'} instead. In ENABLE cases the hashesAndChainIds entry at " +
      "chainDigestIndex is a real sessionDigest of sessionToEnable (others are random), permissionEnableSig is 1..200 bytes (mostly a " +
      "65-byte signature) and the session-validator signature is 0..1000 bytes. Cases 0/1 are spec Appendix A.5 (USE, UNSAFE_ENABLE).",
    cases: J(cases),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 7. mee_short_signature.json

async function genMeeShortSignature(rng, R, A) {
  const cases = [];
  const encode = (superTxHash, proof, sig65) =>
    concatHex(["0x177eee00", encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32[]" }, { type: "bytes" }], [superTxHash, proof, sig65])]);
  // Appendix A.4
  const redeemer = privateKeyToAccount(A.redeemerPk);
  const tree = SimpleMerkleTree.of([A.userOpHash, A.otherLeaf], { sortLeaves: true });
  assert(tree.root === A.root, "A.4 root");
  const sigA = await redeemer.signMessage({ message: { raw: A.root } });
  assert(sigA === A.quoteSig65, "A.4 quote signature");
  const shortA = encode(A.root, tree.getProof(A.userOpHash), sigA);
  assert(shortA === A.shortSig, "A.4 short signature");
  cases.push({ superTxHash: A.root, proof: tree.getProof(A.userOpHash), sig65: sigA, shortSignature: shortA });
  const leafCounts = [1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 1, 2];
  for (let i = 0; i < leafCounts.length; i++) {
    const leaves = Array.from({ length: leafCounts[i] }, () => rng.bytes(32));
    const t = SimpleMerkleTree.of(leaves, { sortLeaves: true });
    const proof = t.getProof(leaves[rng.int(0, leaves.length - 1)]);
    const signer = privateKeyToAccount(rng.bytes(32));
    const sig65 = i % 3 === 2 ? rng.bytes(65) : await signer.signMessage({ message: { raw: t.root } });
    cases.push({ superTxHash: t.root, proof, sig65, shortSignature: encode(t.root, proof, sig65) });
  }
  return {
    description:
      "K1MeeValidator short simple-mode signature: shortSignature = 0x177eee00 || viem encodeAbiParameters([bytes32, bytes32[], bytes], " +
      "[superTxHash, proof, sig65]) (import 'viem'). superTxHash/proof come from OZ SimpleMerkleTree.of(leaves, {sortLeaves: true}) " +
      "(root, getProof); sig65 is mostly a viem signMessage({raw: superTxHash}) personal signature, sometimes random 65 bytes. Proof " +
      "lengths 0..4. Case: {superTxHash, proof, sig65, shortSignature}. Case 0 is spec Appendix A.4.",
    cases,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 8. flz.json

const FLZ_EDGE_SEED = 75798;
const byteHex = (b) => (b | 0x100).toString(16).slice(1);

function genFlz(rng, R, A) {
  const datas = [];
  const hexRepeat = (pattern, n) => {
    const p = pattern.slice(2);
    let s = "";
    while (s.length < 2 * n) s += p;
    return "0x" + s.slice(0, 2 * n);
  };
  datas.push("0x");
  for (let n = 1; n <= 20; n++) datas.push(rng.bytes(n));
  for (const n of [21, 24, 32, 64, 100, 255, 256, 257, 511, 1000, 1500, 2048, 3333, 4096, 5000, rng.int(1, 5000), rng.int(1, 5000)]) datas.push(rng.bytes(n));
  for (const n of [1, 4, 5, 12, 13, 14, 15, 16, 17, 18, 32, 100, 262, 263, 264, 265, 266, 269, 270, 271, 300, 524, 525, 526, 1000, 4096, 10000])
    datas.push(hexRepeat("0x00", n));
  for (const n of [20, 263, 777, 3000]) datas.push(hexRepeat("0xff", n));
  for (const period of [1, 2, 3, 4, 5, 7, 8, 13, 16, 31, 32, 33, 64, 100, 128, 255, 256, 257, 300]) {
    datas.push(hexRepeat(rng.bytes(period), period * rng.int(2, 6) + rng.int(0, period) + rng.int(0, 1000)));
  }
  // ABI-encoded enable-session payloads: abi.encode(EnableSession, bytes)
  for (let i = 0; i < 6; i++) {
    const s = R.bigSession();
    const n = rng.int(1, 4);
    const payload = encodeAbiParameters(encodeEnableSessionSignatureAbi, [
      {
        chainDigestIndex: rng.int(0, n - 1),
        hashesAndChainIds: Array.from({ length: n }, () => ({ chainId: rng.bits(64), sessionDigest: rng.bytes(32) })),
        sessionToEnable: s,
        permissionEnableSig: concatHex([zeroAddress, rng.bytes(65)]), // validator(20) || sig65 as in the nexus encoding
      },
      rng.bytes(rng.pick([65, 292])),
    ]);
    datas.push(payload);
  }
  // mixtures: random chunks, zero runs, repeated chunks and back-references
  for (let i = 0; i < 12; i++) {
    const parts = [];
    const seen = [];
    const k = rng.int(3, 10);
    for (let j = 0; j < k; j++) {
      const t = rng.int(0, 3);
      let part;
      if (t === 0 || seen.length === 0) part = rng.bytes(rng.int(1, 300));
      else if (t === 1) part = hexRepeat("0x00", rng.int(1, 600));
      else if (t === 2) part = rng.pick(seen);
      else part = hexRepeat(rng.bytes(rng.int(1, 40)), rng.int(1, 500));
      parts.push(part);
      seen.push(part);
    }
    datas.push(concatHex(parts));
  }
  // window limit: a block repeated at distance just below / above 8192
  datas.push(((b) => concatHex([b, b]))(rng.bytes(8000)));
  datas.push(((b) => concatHex([b, b]))(rng.bytes(8200)));
  datas.push(concatHex([rng.bytes(100), hexRepeat("0x00", 8300), rng.bytes(50)]));
  // Edge cases added later, drawn from their own stream (seed FLZ_EDGE_SEED) so that no other file changed:
  // every length around the end of the match search (the encoder looks for matches up to 14 bytes before the end),
  // and matches whose first difference, or whose end at the end of the data, falls around 32, 96, 224 and 480 bytes
  // (the chunks of 32, 64, 128, 256 bytes in which our encoder measures a match).
  const edge = makeRng(FLZ_EDGE_SEED);
  for (let n = 10; n <= 40; n++) for (const period of [1, 2, 3, 5]) datas.push(hexRepeat(edge.bytes(period), n));
  const block = edge.bytes(600);
  const flip = (hex, t) => {
    const byte = parseInt(hex.slice(2 + 2 * t, 4 + 2 * t), 16) ^ 0x5a;
    return hex.slice(0, 2 + 2 * t) + byteHex(byte) + hex.slice(4 + 2 * t);
  };
  for (const t of [0, 1, 2, 3, 4, 5, 31, 32, 33, 34, 35, 36, 37, 38, 39, 95, 96, 97, 98, 99, 100, 101, 102, 103,
                   223, 224, 225, 226, 227, 228, 229, 230, 231, 479, 480, 481, 482, 483, 484, 485, 486, 487]) {
    datas.push(concatHex([block, flip(block, t), edge.bytes(edge.int(0, 20))]));
  }
  for (const m of [36, 37, 38, 39, 40, 41, 42, 43, 44, 100, 101, 102, 103, 104, 105, 106])
    datas.push(concatHex([block, block.slice(0, 2 + 2 * m)]));

  const cases = datas.map((data) => {
    const compressed = LibZip.flzCompress(data);
    assert(LibZip.flzDecompress(compressed).toLowerCase() === data.toLowerCase(), "flzDecompress(flzCompress(x)) == x");
    return { data, compressed };
  });
  return {
    description:
      "compressed = solady LibZip.flzCompress(data) (import 'solady', JS 0.0.235); every case was checked with LibZip.flzDecompress(compressed) == data. " +
      "Inputs: empty, 1..20 random bytes, incompressible random up to 5000 bytes, zero/0xff runs (long matches > 262), periodic patterns " +
      "(periods 1..300), ABI-encoded enable-session payloads abi.encode(EnableSession, bytes) of sessions with 16-rule universal " +
      "policies, mixtures, repeats at distance 8000 / 8200 (FastLZ window 8192), then (from the stream of seed " + FLZ_EDGE_SEED + ") " +
      "periodic data of every length 10..40, and a 600-byte block followed by a copy with one byte changed at offsets around " +
      "32 / 96 / 224 / 480 or by a prefix of it ending around there. Case: {data, compressed}.",
    cases,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 9. merkle.json

function genMerkle(rng, R, A) {
  const cases = [];
  const push = (leaves) => {
    const tree = SimpleMerkleTree.of(leaves, { sortLeaves: true });
    const proofs = leaves.map((l) => tree.getProof(l));
    leaves.forEach((l, i) => assert(SimpleMerkleTree.verify(tree.root, l, proofs[i]), "OZ verify"));
    cases.push({ leaves, root: tree.root, proofs });
  };
  push([A.userOpHash, A.otherLeaf]);
  assert(cases[0].root === A.root, "A.4 root");
  for (let n = 1; n <= 9; n++) {
    for (let k = 0; k < 5; k++) {
      let leaves = Array.from({ length: n }, () => rng.bytes(32));
      if (k === 3) leaves = leaves.map((l, i) => (i % 2 ? padHex(toHex(BigInt(rng.int(0, 1 << 20))), { size: 32 }) : l)); // small values
      if (k === 4) leaves = [...leaves].sort(); // already ascending input
      push(leaves);
    }
  }
  return {
    description:
      "OZ SimpleMerkleTree.of(leaves, {sortLeaves: true}) (import '@openzeppelin/merkle-tree'): root = tree.root, proofs[i] = " +
      "tree.getProof(leaves[i]) (leaves and proofs in INPUT order). Case: {leaves, root, proofs}. Case 0 is spec Appendix A.4 " +
      "(userOpHash and the other leaf).",
    cases,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 10. policies.json

function genPolicies(rng, R) {
  const cases = [];
  const sudo = MS.getSudoPolicy();
  cases.push({ kind: "sudo", params: {}, policy: sudo.policy, initData: sudo.initData });

  const uni = (valueLimitPerUse, rules) => {
    const p = uniPolicy(valueLimitPerUse, rules);
    cases.push({
      kind: "universal_action",
      params: Jdec({ valueLimitPerUse, paramRules: { length: BigInt(rules.length), rules: rules.map((r) => ({ ...r })) } }),
      policy: p.policy,
      initData: p.initData,
    });
    // condition is an int in the JSON
    const last = cases[cases.length - 1];
    last.params.paramRules.rules.forEach((r, i) => (r.condition = rules[i].condition));
  };
  // the seed doc example
  uni(maxUint256, [
    { condition: 0, offset: 0n, isLimited: false, ref: padHex("0x1111111111111111111111111111111111111111", { size: 32 }), usage: { limit: 0n, used: 0n } },
    { condition: 4, offset: 32n, isLimited: true, ref: padHex(toHex(100_000_000n), { size: 32 }), usage: { limit: 1_000_000_000n, used: 0n } },
  ]);
  for (let n = 0; n <= 16; n++) for (let k = 0; k < 2; k++) uni(R.uint(256), R.uniRules(n));
  // every condition incl. IN_RANGE, extreme offsets
  for (let c = 0; c <= 6; c++) {
    const rules = R.uniRules(rng.int(1, 5));
    rules[0].condition = c;
    if (c === 6) rules[0].ref = concatHex([padHex(toHex(5n), { size: 16 }), padHex(toHex(MAX_U128), { size: 16 })]);
    rules[rules.length - 1].offset = MAX_U64;
    uni(c === 0 ? 0n : maxUint256, rules);
  }

  const tf = (validUntil, validAfter) => {
    const p = MS.getTimeFramePolicy({ validUntil: Number(validUntil), validAfter: Number(validAfter) });
    cases.push({ kind: "time_frame", params: { validUntil: validUntil.toString(), validAfter: validAfter.toString() }, policy: p.policy, initData: p.initData });
  };
  tf(0n, 0n);
  tf(MAX_U48, 0n);
  tf(0n, MAX_U48);
  tf(MAX_U48, MAX_U48);
  tf(1750000180n, 1750000000n);
  for (let i = 0; i < 7; i++) tf(R.uint(48), R.uint(48));

  const ul = (limit) => {
    const p = MS.getUsageLimitPolicy({ limit });
    cases.push({ kind: "usage_limit", params: { limit: limit.toString() }, policy: p.policy, initData: p.initData });
  };
  ul(0n);
  ul(1n);
  ul(MAX_U128);
  for (let i = 0; i < 8; i++) ul(R.uint(128));

  const vl = (limit) => {
    const p = MS.getValueLimitPolicy({ limit });
    cases.push({ kind: "value_limit", params: { limit: limit.toString() }, policy: p.policy, initData: p.initData });
  };
  vl(0n);
  vl(1n);
  vl(maxUint256);
  for (let i = 0; i < 8; i++) vl(R.uint(256));

  const sl = (tokenLimits) => {
    const p = MS.getSpendingLimitsPolicy(tokenLimits);
    cases.push({ kind: "spending_limits", params: { tokenLimits: J(tokenLimits) }, policy: p.policy, initData: p.initData });
  };
  for (let i = 0; i < 12; i++) sl(Array.from({ length: i % 6 }, () => ({ token: R.addr(), limit: R.uint(256) })));

  return {
    description:
      "Policy builders of module-sdk (import '@rhinestone/module-sdk'): kind 'sudo' -> getSudoPolicy(); 'universal_action' -> " +
      "getUniversalActionPolicy({valueLimitPerUse, paramRules: {length, rules}}) with params.paramRules.rules = the n ACTIVE rules " +
      "(length = n) and the reference called with them padded to 16 by the all-zero rule {condition: 0, offset: 0, isLimited: false, " +
      "ref: 0x00..00, usage: {limit: 0, used: 0}}; 'time_frame' -> getTimeFramePolicy({validUntil, validAfter}); 'usage_limit' -> " +
      "getUsageLimitPolicy({limit}); 'value_limit' -> getValueLimitPolicy({limit}); 'spending_limits' -> getSpendingLimitsPolicy(tokenLimits) " +
      "with params {tokenLimits: [{token, limit}]}. Case: {kind, params, policy (address as returned), initData}. Integers are decimal " +
      "strings except rule.condition (int). The first universal_action case is the seed doc example (EQUAL recipient at 0, " +
      "LESS_THAN_OR_EQUAL 100e6 at 32 with isLimited and usage limit 1000e6, valueLimitPerUse maxUint256).",
    cases,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 11. payment_policy.json

function genPaymentPolicy(rng, R, A) {
  const cases = [];
  const run = (sessionActions, feeToken, maxPaymentAmount) => {
    const input = J(sessionActions);
    const c = { sessionActions: input, feeToken: J(feeToken), maxPaymentAmount: maxPaymentAmount.toString() };
    try {
      c.result = J(AJ.addPaymentPolicyForActions(sessionActions, feeToken, maxPaymentAmount));
    } catch (e) {
      c.error = errorMessage(e);
    }
    // What prepareEnableSessions gives it: the fee chain's groups only (we leave other chains' groups as they are).
    const feeChainOnly = sessionActions.filter((g) => g.chainId === feeToken.chainId);
    if (feeChainOnly.length !== sessionActions.length) {
      try {
        c.feeChainResult = J(AJ.addPaymentPolicyForActions(feeChainOnly, feeToken, maxPaymentAmount));
      } catch (e) {
        c.feeChainError = errorMessage(e);
      }
    }
    assert(JSON.stringify(J(sessionActions)) === JSON.stringify(input), "input not mutated");
    cases.push(c);
    return c;
  };
  const rule = (condition, offset, extra = {}) => ({
    condition,
    offset,
    isLimited: extra.isLimited ?? rng.bool(),
    ref: extra.ref ?? padHex(toHex(extra.refValue ?? BigInt(rng.int(1, 1e9))), { size: 32 }),
    usage: extra.usage ?? { limit: BigInt(rng.int(0, 1e9)), used: 0n },
  });
  const nonOffset32Rule = () => rule(rng.int(0, 6), rng.pick([0n, 64n, 96n, 4n, 33n]));
  const chainPick = () => rng.pick([1, 10, 8453, 42161]);
  const tokenFor = () => ({ address: R.addr(), chainId: chainPick() });
  const randomActions = (n) => Array.from({ length: n }, () => ({ ...R.action(2), actionPolicies: R.policies(2) }));
  const feeAction = (token, policies, selector = TRANSFER, target = token.address) => ({ actionTargetSelector: selector, actionTarget: target, actionPolicies: policies });
  const uniP = (rules, valueLimitPerUse = 0n, pad) => pd(uniPolicy(valueLimitPerUse, rules, pad));
  const amt = () => rng.pick([5000000n, 1n, BigInt(rng.int(1, 1e9)), 10n ** 18n * 5n]);

  // Appendix A.3
  const a = run([{ chainId: 8453, actions: [{ actionTargetSelector: "0xd09de08a", actionTarget: "0x000000000000000000000000000000000000c0Fe", actionPolicies: [pd(MS.getSudoPolicy())] }] }], { address: USDC_BASE, chainId: 8453 }, 5000000n);
  assert(keccak256(a.result[0].actions[1].actionPolicies[0].initData) === "0x1f22501f0428d8e01b17fc4607973406d8f4bdafacbe0813f188c8464331e996", "A.3 payment policy");

  // no fee-token action
  for (let i = 0; i < 3; i++) {
    const t = tokenFor();
    run([{ chainId: t.chainId, actions: randomActions(i) }], t, amt());
  }
  // fee-token transfer with Sudo only (-> second action appended)
  for (let i = 0; i < 2; i++) {
    const t = tokenFor();
    run([{ chainId: t.chainId, actions: [...randomActions(i), feeAction(t, [pd(MS.getSudoPolicy())])] }], t, amt());
  }
  // UNI with a rule at offset 32: EQUAL / LESS_THAN / LTE / GREATER_THAN / GTE / NOT_EQUAL / IN_RANGE, limited or not
  for (const cond of [0, 2, 4, 1, 3, 5, 6, 4, 0]) {
    const t = tokenFor();
    const rules = [rule(0, 0n, { ref: padHex(R.addr(), { size: 32 }), isLimited: false, usage: { limit: 0n, used: 0n } }), rule(cond, 32n)];
    if (rng.bool()) rules.push(rule(rng.pick([0, 2, 4]), 32n)); // a second offset-32 rule
    run([{ chainId: t.chainId, actions: [feeAction(t, [uniP(rules, R.uint(256))])] }], t, amt());
  }
  // UNI without a rule at offset 32 -> rule added at index `length`
  for (const n of [0, 1, 5, 15]) {
    const t = tokenFor();
    run([{ chainId: t.chainId, actions: [...randomActions(1), feeAction(t, [uniP(Array.from({ length: n }, nonOffset32Rule), R.uint(256))])] }], t, amt());
  }
  // 16 rules without offset 32 -> reference throws; 16 rules with one at offset 32 -> updated
  {
    const t = tokenFor();
    run([{ chainId: t.chainId, actions: [feeAction(t, [uniP(Array.from({ length: 16 }, nonOffset32Rule))])] }], t, amt());
    const rules = Array.from({ length: 16 }, nonOffset32Rule);
    rules[9] = rule(4, 32n);
    run([{ chainId: t.chainId, actions: [feeAction(t, [uniP(rules)])] }], t, amt());
  }
  // UNI built by abstractjs buildActionPolicy (padding rule {condition: 1, offset: 0, ...})
  for (const withAmount of [true, false]) {
    const t = tokenFor();
    const rules = [{ condition: "equal", calldataOffset: AJ.calldataArgument(1), comparisonValue: R.addr() }];
    if (withAmount) rules.push({ condition: "lessThanOrEqual", calldataOffset: AJ.calldataArgument(2), comparisonValue: 1000000n, isLimited: true, usage: { limit: 10000000n, used: 0n } });
    run([{ chainId: t.chainId, actions: [feeAction(t, [pd(AJ.buildActionPolicy({ type: "universal", rules }))])] }], t, amt());
  }
  // padding slot beyond `length` holding an offset-32 rule (the reference scans all 16 slots)
  {
    // Each case also records the reference's result for the same input with zero padding (`cleanPaddingResult`):
    // we read only the first `length` rules, as the contract does.
    const t = tokenFor();
    const active = [rule(0, 0n)];
    const junk = rule(4, 32n, { isLimited: false });
    const amount1 = amt();
    const first = run([{ chainId: t.chainId, actions: [feeAction(t, [uniP(active, 0n, junk)])] }], t, amount1);
    first.cleanPaddingResult = J(AJ.addPaymentPolicyForActions([{ chainId: t.chainId, actions: [feeAction(t, [uniP(active, 0n)])] }], t, amount1));
    const rules = [rule(0, 0n)];
    const p = pd(uniPolicy(0n, rules, ZERO_RULE));
    const padded = [...rules, ...Array.from({ length: 15 }, () => ZERO_RULE)];
    padded[7] = rule(2, 32n);
    const amount2 = amt();
    const second = run([{ chainId: t.chainId, actions: [feeAction(t, [pd(MS.getUniversalActionPolicy({ valueLimitPerUse: 0n, paramRules: { length: 1n, rules: padded } })), p])] }], t, amount2);
    const zeroed = [...rules, ...Array.from({ length: 15 }, () => ZERO_RULE)];
    second.cleanPaddingResult = J(AJ.addPaymentPolicyForActions([{ chainId: t.chainId, actions: [feeAction(t, [pd(MS.getUniversalActionPolicy({ valueLimitPerUse: 0n, paramRules: { length: 1n, rules: zeroed } })), p])] }], t, amount2));
  }
  // several UNI policies + other policies on the fee-token transfer
  {
    const t = tokenFor();
    run([{ chainId: t.chainId, actions: [feeAction(t, [pd(MS.getSudoPolicy()), uniP([rule(4, 32n)]), uniP([rule(0, 0n)]), pd(MS.getUsageLimitPolicy({ limit: 10n }))])] }], t, amt());
  }
  // fee token on another chain than the actions
  for (let i = 0; i < 2; i++) {
    const t = { address: R.addr(), chainId: 8453 };
    run([{ chainId: 10, actions: [...randomActions(1), feeAction(t, [uniP([rule(4, 32n)])])] }], t, amt());
  }
  // multiple chains / several SessionActions for the fee chain (payment appended to the first only)
  for (let i = 0; i < 3; i++) {
    const t = { address: R.addr(), chainId: 8453 };
    const sa = [
      { chainId: 1, actions: randomActions(1) },
      { chainId: 8453, actions: i === 2 ? [feeAction(t, [uniP([rule(2, 32n)])])] : randomActions(1) },
      { chainId: 8453, actions: randomActions(2) },
      { chainId: 1, actions: [feeAction(t, [uniP([rule(4, 32n)])])] }, // same token address on another chain
    ];
    run(sa, t, amt());
  }
  // mixed-case addresses and selectors
  {
    const raw = rng.address();
    const t = { address: getAddress(raw), chainId: 8453 };
    run([{ chainId: 8453, actions: [feeAction(t, [uniP([rule(4, 32n)])], "0xA9059CBB", raw.toUpperCase().replace("0X", "0x"))] }], t, amt());
    const t2 = { address: raw.toUpperCase().replace("0X", "0x"), chainId: 8453 };
    run([{ chainId: 8453, actions: [feeAction(t2, [uniP([rule(0, 64n)])], TRANSFER, getAddress(raw))] }], t2, amt());
  }
  // transfer of another token / another selector on the fee token
  {
    const t = tokenFor();
    run([{ chainId: t.chainId, actions: [feeAction(t, [uniP([rule(4, 32n)])], "0x095ea7b3"), feeAction(t, [uniP([rule(4, 32n)])], TRANSFER, R.addr())] }], t, amt());
  }
  // maxPaymentAmount 0 (buildSessionAction then falls back to Sudo), ref overflow (reference throws)
  {
    const t = tokenFor();
    run([{ chainId: t.chainId, actions: randomActions(1) }], t, 0n);
    run([{ chainId: t.chainId, actions: [feeAction(t, [uniP([rule(0, 32n, { ref: padHex(toHex(maxUint256), { size: 32 }) })])])] }], t, 1n);
  }
  return {
    description:
      "abstractjs addPaymentPolicyForActions(sessionActions, feeToken, maxPaymentAmount) (import '@biconomy/abstractjs'; spec §3.3). " +
      "Case: {sessionActions: [{chainId: int, actions: [ActionData]}] (the input; policies as {policy, initData}), feeToken: {address, " +
      "chainId: int}, maxPaymentAmount: decimal string, result} where result is the reference's return value (same shape as " +
      "sessionActions) converted with bigint -> decimal string; policies rebuilt by the reference (updated universal policies and the " +
      "appended payment action, built by module-sdk getUniversalActionPolicy / abstractjs buildSessionAction) carry an extra `address` " +
      "key equal to `policy`, untouched policies are passed through as given. When the reference throws, the case has {error: " +
      "'<message>'} instead of result (16 active rules without an offset-32 rule; a ref overflowing uint256). Case 0 is spec Appendix A.3.",
    cases,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 12. userop.json

function packedToViem(u) {
  const op = {
    sender: u.sender,
    nonce: u.nonce,
    callData: u.callData,
    callGasLimit: u.callGasLimit,
    verificationGasLimit: u.verificationGasLimit,
    preVerificationGas: u.preVerificationGas,
    maxFeePerGas: u.maxFeePerGas,
    maxPriorityFeePerGas: u.maxPriorityFeePerGas,
    signature: u.signature,
  };
  const ic = u.initCode.slice(2);
  if (ic.length) {
    op.factory = "0x" + ic.slice(0, 40);
    op.factoryData = "0x" + ic.slice(40);
  }
  const pm = u.paymasterAndData.slice(2);
  if (pm.length) {
    op.paymaster = "0x" + pm.slice(0, 40);
    op.paymasterVerificationGasLimit = hexToBigInt("0x" + pm.slice(40, 72));
    op.paymasterPostOpGasLimit = hexToBigInt("0x" + pm.slice(72, 104));
    op.paymasterData = "0x" + pm.slice(104);
  }
  return op;
}

function genUserOp(rng, R, A) {
  const cases = [];
  const push = (userOp, chainId, entryPoint, lower, upper) => {
    const viemOp = packedToViem(userOp);
    const packed = toPackedUserOperation(viemOp);
    assert(eqHex(packed.initCode, userOp.initCode) && eqHex(packed.paymasterAndData, userOp.paymasterAndData), "packed round trip");
    const userOpHash = getUserOperationHash({ userOperation: viemOp, chainId, entryPointAddress: entryPoint, entryPointVersion: "0.7" });
    const meeUserOpHash = keccak256(keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }, { type: "uint256" }], [userOpHash, lower, upper])));
    assert(meeUserOpHash === standardLeafHash(["bytes32", "uint256", "uint256"], [userOpHash, lower, upper]), "meeUserOpHash == OZ standardLeafHash");
    cases.push({ userOp, chainId, entryPoint, userOpHash, lowerBoundTimestamp: lower, upperBoundTimestamp: upper, meeUserOpHash });
    return userOpHash;
  };
  assert(
    A.userOp.callData ===
      "0xe9ae5c53000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
        "0000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000" +
        "38000000000000000000000000000000000000c0fe0000000000000000000000000000000000000000000000000000000000" +
        "000000d09de08a0000000000000000",
    "A.4 callData",
  );
  const h = push(A.userOp, 8453n, ENTRY_POINT_V07, 1750000000n, 1750000180n);
  assert(h === A.userOpHash, "A.4 userOpHash");
  const gas = () => rng.pick([0n, 21000n, BigInt(rng.int(1, 5000000)), MAX_U128, rng.bits(128), rng.bits(rng.int(1, 128))]);
  for (let i = 0; i < 44; i++) {
    const withInit = i % 4 === 1 || i % 4 === 3;
    const withPm = i % 4 >= 2;
    const initCode = withInit ? concatHex([R.addr(), rng.bytes(rng.pick([0, 4, 740, rng.int(1, 800)]))]) : "0x";
    const paymasterAndData = withPm
      ? concatHex([R.addr(), padHex(toHex(gas()), { size: 16 }), padHex(toHex(gas()), { size: 16 }), rng.bytes(rng.pick([0, 8, 76, rng.int(1, 200)]))])
      : "0x";
    const key = rng.bits(192);
    const nonce = rng.pick([0n, (key << 64n) | rng.bits(64), maxUint256, rng.bits(256)]);
    const userOp = {
      sender: R.addr(),
      nonce,
      initCode,
      callData: rng.bytes(rng.pick([0, 4, 100, rng.int(1, 1000)])),
      callGasLimit: gas(),
      verificationGasLimit: gas(),
      preVerificationGas: rng.pick([gas(), rng.bits(256)]),
      maxFeePerGas: gas(),
      maxPriorityFeePerGas: gas(),
      paymasterAndData,
      signature: rng.bytes(rng.pick([0, 65, 292])),
    };
    const chainId = rng.pick([1n, 8453n, 10n, 137n, 42161n, MAX_U64, rng.bits(64) | 1n, BigInt(rng.int(1, 1000000))]);
    const entryPoint = i % 6 === 5 ? R.addr() : ENTRY_POINT_V07;
    const lower = rng.pick([0n, 1750000000n + BigInt(rng.int(0, 1e7)), MAX_U48, maxUint256, rng.bits(256)]);
    const upper = rng.pick([0n, lower + 180n <= maxUint256 ? lower + 180n : lower, MAX_U48, maxUint256, rng.bits(256)]);
    push(userOp, chainId, entryPoint, lower, upper);
  }
  return {
    description:
      "ERC-4337 v0.7 userOpHash = viem getUserOperationHash({userOperation, chainId, entryPointAddress: entryPoint, entryPointVersion: " +
      "'0.7'}) (import 'viem/account-abstraction'), with the packed initCode split into factory (20 bytes) / factoryData and " +
      "paymasterAndData into paymaster / paymasterVerificationGasLimit (uint128) / paymasterPostOpGasLimit (uint128) / paymasterData " +
      "(checked: viem toPackedUserOperation gives back the same initCode / paymasterAndData). abstractjs 1.2.3 has NO meeUserOpHash " +
      "function (the value only comes from the MEE node), so meeUserOpHash = viem keccak256(keccak256(encodeAbiParameters([bytes32, " +
      "uint256, uint256], [userOpHash, lowerBoundTimestamp, upperBoundTimestamp]))), checked equal to OZ standardLeafHash (import " +
      "'@openzeppelin/merkle-tree/dist/hashes.js'). Case: {userOp: {sender, nonce, initCode, callData, callGasLimit, verificationGasLimit, " +
      "preVerificationGas, maxFeePerGas, maxPriorityFeePerGas, paymasterAndData, signature}, chainId, entryPoint, userOpHash, " +
      "lowerBoundTimestamp, upperBoundTimestamp, meeUserOpHash}; integers are decimal strings. Case 0 is spec Appendix A.4 (with " +
      "timestamps 1750000000 / 1750000180).",
    cases: J(cases),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// 13. versions.json

function genVersions() {
  const cases = [];
  for (const version of Object.keys(AJ.DEFAULT_CONFIGURATIONS_BY_MEE_VERSION)) {
    const config = AJ.getMEEVersion(version);
    assert(config === AJ.DEFAULT_CONFIGURATIONS_BY_MEE_VERSION[version], "getMEEVersion");
    cases.push({ version, config: Jdec(config) });
  }
  assert(Object.values(AJ.MEEVersion).every((v) => v in AJ.DEFAULT_CONFIGURATIONS_BY_MEE_VERSION), "MEEVersion enum covered");
  return {
    description:
      "abstractjs getMEEVersion(version) for every key of DEFAULT_CONFIGURATIONS_BY_MEE_VERSION (import '@biconomy/abstractjs'), in the " +
      "reference's key order; config is the reference object with its key order, addresses as returned (checksummed), and JS numbers " +
      "(moduleRegistry.attesterThreshold of 1.x) written as decimal strings. Case: {version, config}.",
    cases,
  };
}

// ---------------------------------------------------------------------------------------------------------------

export async function generate(rng) {
  const R = mkRand(rng);
  const A = appendixA();
  const out = {};
  out["permission_id.json"] = genPermissionId(rng, R, A);
  R.maxInitData = 160; // smaller random policy initData from here on, to bound the file sizes
  out["action_id.json"] = await genActionId(rng, R);
  out["session_digest.json"] = genSessionDigest(rng, R, A);
  out["hash_chain_sessions.json"] = genHashChainSessions(rng, R, A);
  out["grant_signature.json"] = await genGrantSignature(rng, R, A);
  out["smart_session_signature.json"] = await genSmartSessionSignature(rng, R, A);
  out["mee_short_signature.json"] = await genMeeShortSignature(rng, R, A);
  out["flz.json"] = genFlz(rng, R, A);
  out["merkle.json"] = genMerkle(rng, R, A);
  out["policies.json"] = genPolicies(rng, R);
  out["payment_policy.json"] = genPaymentPolicy(rng, R, A);
  out["userop.json"] = genUserOp(rng, R, A);
  out["versions.json"] = genVersions();
  return out;
}
