// Conformance vectors of abstractjs 1.2.3's session-action builders (the new session flow, issue 14):
//   * `buildActionPolicy(params)` and `calldataArgument(n)` (import '@biconomy/abstractjs');
//   * `buildSessionAction({type, data})` (toMultichainNexusAccount's `buildSessionAction`, the same function).
//
// Every expected value is the reference's return value, or the message it threw; this file only builds random inputs
// from the deterministic rng and writes them in the JSON conventions of tests/vectors/generate.mjs. The inputs include
// mistakes on purpose (a usage limit of 0, a typo in a condition, an open-ended time frame, ...): the reference
// encodes most of them, and the Python test asserts that we refuse them (docs/reference-differences.md).
import { getAddress, maxUint256, padHex, toHex, zeroAddress } from "viem";
import * as AJ from "@biconomy/abstractjs";

const MAX_U48 = (1n << 48n) - 1n;
const MAX_U64 = (1n << 64n) - 1n;
const MAX_U128 = (1n << 128n) - 1n;
const CONDITIONS = ["equal", "notEqual", "greaterThan", "lessThan", "greaterThanOrEqual", "lessThanOrEqual"];
// strings the reference does not know: it maps every one of them to EQUAL without a word
const UNKNOWN_CONDITIONS = ["inRange", "lte", "EQUAL", "less_than", ""];

function errorMessage(e) {
  return e?.shortMessage ?? e?.message ?? String(e);
}

/** bigint -> decimal string; JS numbers stay JSON numbers; `undefined` keys are dropped (as JSON.stringify does). */
const J = (x) => JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));

function mkRand(rng) {
  const R = {};
  R.addr = () => {
    const a = rng.address();
    return rng.bool() ? getAddress(a) : a;
  };
  /** A uint of `bits` with a spread of magnitudes: 0, 1, the maximum, small, and any size. */
  R.uint = (bits) => {
    const max = (1n << BigInt(bits)) - 1n;
    switch (rng.int(0, 6)) {
      case 0:
        return 0n;
      case 1:
        return 1n;
      case 2:
        return max;
      case 3:
        return BigInt(rng.int(2, 1_000_000));
      default:
        return rng.bits(rng.int(1, bits));
    }
  };
  /** A comparison value: a bigint, a 32-byte word, an address (checksummed or lower case), or (rarely) a short hex. */
  R.comparison = () => {
    switch (rng.int(0, 7)) {
      case 0:
      case 1:
      case 2:
        return R.uint(256);
      case 3:
      case 4:
        return rng.bytes(32);
      case 5:
      case 6:
        return R.addr();
      default:
        return R.uint(256);
    }
  };
  /** A valid rule: a known condition, an argument's offset, a number, word or address; limited or not. */
  R.rule = () => {
    const r = { condition: rng.pick(CONDITIONS), calldataOffset: AJ.calldataArgument(rng.int(1, 8)), comparisonValue: R.comparison() };
    if (rng.bool()) {
      r.isLimited = true;
      r.usage = { limit: R.uint(256), used: rng.int(0, 3) === 0 ? R.uint(64) : 0n };
    } else if (rng.bool()) {
      r.isLimited = false;
    }
    return r;
  };
  /** The same rule with one mistake the reference encodes without a word. */
  R.mistake = (r) => {
    switch (rng.int(0, 4)) {
      case 0:
        return { ...r, condition: rng.pick(UNKNOWN_CONDITIONS) }; // becomes EQUAL
      case 1:
        return { ...r, calldataOffset: BigInt(rng.pick([1, 2, 4, 31, 33, 100])) }; // an argument's number, not offset
      case 2:
        return { ...r, comparisonValue: rng.bytes(rng.pick([1, 4, 8, 31])) }; // left-padded: wrong for bytesN
      case 3:
        return { ...r, isLimited: true, usage: undefined }; // a cumulative limit of 0
      default:
        return { ...r, isLimited: rng.pick([false, undefined]), usage: { limit: R.uint(256), used: 0n } }; // not enforced
    }
  };
  return R;
}

function genBuildActionPolicy(rng, R) {
  const cases = [];
  const run = (params) => {
    const c = { fn: "buildActionPolicy", params: J(params) };
    try {
      const p = AJ.buildActionPolicy(params);
      c.result = { policy: p.policy, initData: p.initData };
    } catch (e) {
      c.error = errorMessage(e);
    }
    cases.push(c);
  };

  run({ type: "sudo" });
  run({ type: "sudo", limit: 5n }); // a field of another type: ignored, the action is unrestricted

  // universal: every number of rules from 0 to 17, each twice; then every condition (known and not) as rule 0
  for (let n = 0; n <= 17; n++) {
    for (let k = 0; k < 2; k++) {
      const params = { type: "universal", rules: Array.from({ length: n }, R.rule) };
      if (n > 0 && rng.int(0, 2) === 0) {
        const i = rng.int(0, n - 1);
        params.rules[i] = R.mistake(params.rules[i]);
      }
      const v = rng.int(0, 3);
      if (v > 0) params.valueLimitPerUse = R.uint(256);
      run(params);
    }
  }
  for (const condition of [...CONDITIONS, ...UNKNOWN_CONDITIONS]) {
    const rules = Array.from({ length: rng.int(1, 4) }, R.rule);
    rules[0] = { ...rules[0], condition, calldataOffset: AJ.calldataArgument(2), comparisonValue: R.uint(256) };
    run({ type: "universal", rules, valueLimitPerUse: R.uint(256) });
  }
  // the seed's example through the new API; extreme values that are valid
  run({
    type: "universal",
    rules: [
      { condition: "equal", calldataOffset: AJ.calldataArgument(1), comparisonValue: "0x1111111111111111111111111111111111111111" },
      { condition: "lessThanOrEqual", calldataOffset: AJ.calldataArgument(2), comparisonValue: 100_000_000n, isLimited: true, usage: { limit: 1_000_000_000n, used: 0n } },
    ],
  });
  run({
    type: "universal",
    rules: [
      { condition: "lessThan", calldataOffset: MAX_U64 - 31n, comparisonValue: maxUint256, isLimited: true, usage: { limit: maxUint256, used: maxUint256 } },
      { condition: "greaterThan", calldataOffset: 0n, comparisonValue: 0n, isLimited: true, usage: { limit: 0n, used: 0n } },
    ],
    valueLimitPerUse: maxUint256,
  });
  // 17 valid rules
  run({ type: "universal", rules: Array.from({ length: 17 }, R.rule) });
  // values the reference refuses
  run({ type: "universal", rules: [{ condition: "equal", calldataOffset: MAX_U64 + 1n, comparisonValue: 1n }] });
  run({ type: "universal", rules: [{ condition: "equal", calldataOffset: 0n, comparisonValue: maxUint256 + 1n }] });
  run({ type: "universal", rules: [{ condition: "equal", calldataOffset: 0n, comparisonValue: rng.bytes(33) }] });
  run({ type: "universal", rules: [{ condition: "equal", calldataOffset: 0n, comparisonValue: 1n }], valueLimitPerUse: maxUint256 + 1n });

  // timeframe: every mix of 0, the uint48 maximum and random bounds, in both orders
  const tf = (validAfter, validUntil) => run({ type: "timeframe", validAfter, validUntil });
  tf(0, 0);
  tf(0, Number(MAX_U48));
  tf(Number(MAX_U48), 0);
  tf(Number(MAX_U48), Number(MAX_U48));
  tf(1750000000, 1750000180);
  tf(1750000180, 1750000000);
  for (let i = 0; i < 14; i++) {
    const a = Number(R.uint(48));
    const b = Number(R.uint(48));
    tf(rng.bool() ? Math.min(a, b) : a, rng.bool() ? Math.max(a, b) : b);
  }
  tf(Number(MAX_U48) + 1, 0);

  // usageLimit
  for (const limit of [0n, 1n, MAX_U128]) run({ type: "usageLimit", limit });
  for (let i = 0; i < 8; i++) run({ type: "usageLimit", limit: R.uint(128) });
  run({ type: "usageLimit", limit: MAX_U128 + 1n });

  // spendingLimits: 0 to 5 tokens, limits of any size (0 included), a repeated token, the zero address
  for (let i = 0; i < 18; i++) {
    const tokenLimits = Array.from({ length: i % 6 }, () => ({ token: R.addr(), limit: R.uint(256) || 1n }));
    if (i % 6 >= 1 && i % 4 === 0) tokenLimits[rng.int(0, tokenLimits.length - 1)].limit = 0n;
    if (i % 6 >= 2 && i % 3 === 0) tokenLimits[1] = { token: tokenLimits[0].token.toLowerCase(), limit: R.uint(256) };
    run({ type: "spendingLimits", tokenLimits });
  }
  run({ type: "spendingLimits", tokenLimits: [{ token: zeroAddress, limit: 5n }] });
  run({ type: "spendingLimits", tokenLimits: [{ token: R.addr(), limit: maxUint256 + 1n }] });

  run({ type: "valueLimit", limit: 5n }); // not a type of buildActionPolicy
  return cases;
}

function genCalldataArgument(rng) {
  const cases = [];
  const run = (n) => {
    const c = { fn: "calldataArgument", n };
    try {
      c.result = AJ.calldataArgument(n).toString();
    } catch (e) {
      c.error = errorMessage(e);
    }
    cases.push(c);
  };
  for (let n = 1; n <= 10; n++) run(n);
  for (let i = 0; i < 5; i++) run(rng.int(11, 1_000_000));
  for (const n of [0, -1, 1.5, 2 ** 53]) run(n);
  return cases;
}

// buildSessionAction reads Date.now() when only one time bound is given; it is frozen at this instant while the cases
// run, so those (refused) cases are deterministic too. Every case we build passes both bounds, and never reads it.
const FROZEN_NOW_MS = 1_750_000_000_000;
const ERC20_TYPES = ["transfer", "transferFrom", "approve"];

function genBuildSessionAction(rng, R) {
  const cases = [];
  const run = (params) => {
    const c = { fn: "buildSessionAction", params: J(params) };
    const realNow = Date.now;
    Date.now = () => FROZEN_NOW_MS;
    try {
      c.result = J(AJ.buildSessionAction(params));
    } catch (e) {
      c.error = errorMessage(e);
    } finally {
      Date.now = realNow;
    }
    cases.push(c);
    return c;
  };
  const chainIds = () => {
    const n = rng.int(1, 3);
    const out = [];
    while (out.length < n) {
      const c = rng.pick([1, 10, 137, 8453, 42161, 84532, 11155111, rng.int(1, 2 ** 31)]);
      if (!out.includes(c)) out.push(c);
    }
    return out;
  };
  const nonZero = (bits) => R.uint(bits) || 1n;
  const time = () => rng.int(1, 2 ** 33);
  /** A valid random choice of sugar fields (possibly none). */
  const sugar = () => {
    const d = {};
    if (rng.bool()) d.recipientAddress = R.addr();
    const amounts = rng.int(0, 3);
    if (amounts === 1 || amounts === 3) d.amountLimitPerAction = nonZero(128);
    if (amounts >= 2) d.maxAmountLimit = (d.amountLimitPerAction ?? 0n) + nonZero(128);
    if (rng.bool()) d.usageLimit = nonZero(128);
    if (rng.bool()) {
      const a = time();
      d.validAfter = a;
      d.validUntil = a + rng.int(0, 2 ** 25);
    }
    return d;
  };
  /** Valid buildActionPolicy params for an action on `token`, or a built PolicyData. */
  const policy = (token) => {
    switch (rng.int(0, 5)) {
      case 0:
        return { type: "sudo" };
      case 1:
        return { type: "universal", rules: Array.from({ length: rng.int(1, 4) }, R.rule), valueLimitPerUse: rng.bool() ? R.uint(256) : undefined };
      case 2: {
        const a = time();
        return { type: "timeframe", validAfter: a, validUntil: a + rng.int(0, 2 ** 25) };
      }
      case 3:
        return { type: "usageLimit", limit: nonZero(128) };
      case 4:
        return { type: "spendingLimits", tokenLimits: [{ token: rng.bool() ? token : token.toLowerCase(), limit: nonZero(256) }] };
      default:
        return AJ.buildActionPolicy({ type: "usageLimit", limit: nonZero(128) }); // already built: {policy, initData}
    }
  };
  const policies = (token) => Array.from({ length: rng.int(1, 3) }, () => policy(token));
  const base = (type) => ({ chainIds: chainIds(), contractAddress: R.addr() });

  /** A recipient the reference cannot read (isAddress(strict) fails): it drops it without a word. */
  const badRecipient = () => {
    const checksummed = getAddress(rng.address());
    switch (rng.int(0, 3)) {
      case 0: {
        // flip the case of one letter: a wrong checksum
        const i = [...checksummed].findIndex((ch, k) => k > 1 && /[a-fA-F]/.test(ch));
        const ch = checksummed[i];
        const flipped = ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase();
        return checksummed.slice(0, i) + flipped + checksummed.slice(i + 1);
      }
      case 1:
        return rng.bytes(19); // short
      case 2:
        return "";
      default:
        return "0x" + checksummed.slice(2).toUpperCase();
    }
  };
  /** One mistake on a valid base: each is a widening (or a wall-clock read) in the reference. */
  const MISTAKES = [
    (d) => ({ ...d, recipientAddress: badRecipient() }),
    (d) => ({ ...d, usageLimit: 0n }),
    (d) => ({ ...d, maxAmountLimit: 0n, amountLimitPerAction: d.amountLimitPerAction }),
    (d) => ({ ...d, amountLimitPerAction: 0n, maxAmountLimit: undefined }),
    (d) => ({ ...d, validAfter: time(), validUntil: undefined }), // a day from validAfter
    (d) => ({ ...d, validAfter: undefined, validUntil: rng.int(1, 1_750_000_000) }), // alone, in the past: empty
    (d) => ({ ...d, validAfter: undefined, validUntil: rng.int(1_750_000_001, 2 ** 33) }), // alone: from "now"
    (d) => ({ ...d, validAfter: 0, validUntil: time() }), // 0 is read as "now" too
    (d) => ({ ...d, validAfter: time(), validUntil: 0 }), // 0 is read as "a day after validAfter"
    (d) => {
      const a = time();
      return { ...d, validAfter: a + rng.int(1, 1000), validUntil: a };
    },
    (d) => {
      const max = nonZero(64);
      return { ...d, maxAmountLimit: max, amountLimitPerAction: max + nonZero(64) };
    },
    (d) => ({ ...d, ...(Object.keys(sugar()).length ? {} : { usageLimit: 3n }), ...sugar(), policies: policies(d.contractAddress) }),
    (d) => ({ chainIds: d.chainIds, contractAddress: d.contractAddress, policies: [{ type: "spendingLimits", tokenLimits: [{ token: R.addr(), limit: nonZero(256) }] }] }),
    (d) => ({ ...d, chainIds: d.chainIds.map(String) }),
    (d) => ({ ...d, chainIds: [] }),
    (d) => ({ ...d, chainIds: [d.chainIds[0], d.chainIds[0]] }),
  ];

  // ERC-20 sugar: every type, random valid sugar (none included), policies, an empty policies list
  for (const type of ERC20_TYPES) {
    for (let i = 0; i < 12; i++) run({ type, data: { ...base(), ...sugar() } });
    run({ type, data: base() }); // nothing: sudo
    const all = { ...base(), recipientAddress: R.addr(), amountLimitPerAction: 5n, maxAmountLimit: 50n, usageLimit: 7n, validAfter: 1750000000, validUntil: 1750086400 };
    run({ type, data: all });
    run({ type, data: { ...base(), amountLimitPerAction: 50n, maxAmountLimit: 50n } });
    run({ type, data: { ...base(), validAfter: 1750000000, validUntil: 1750000000 } });
    for (let i = 0; i < 4; i++) {
      const d = base();
      run({ type, data: { ...d, policies: policies(d.contractAddress) } });
    }
    run({ type, data: { ...base(), ...sugar(), policies: [] } });
    // each mistake at least once per type, on a random valid base
    for (const mistake of MISTAKES) run({ type, data: mistake({ ...base(), ...sugar() }) });
  }
  // the recipient mistakes, each kind, with nothing else set: the reference's answer is an unrestricted transfer
  for (let i = 0; i < 8; i++) run({ type: "transfer", data: { ...base(), recipientAddress: badRecipient() } });

  // custom
  const custom = (extra = {}) => ({ type: "custom", data: { ...base(), functionSignature: rng.bytes(4), ...extra } });
  for (let i = 0; i < 6; i++) {
    const c = custom();
    if (i % 3) c.data.policies = policies(c.data.contractAddress);
    run(c);
  }
  run(custom({ policies: [] }));
  for (const field of ["recipientAddress", "amountLimitPerAction", "maxAmountLimit", "usageLimit", "validAfter", "validUntil"]) {
    const s = { recipientAddress: R.addr(), amountLimitPerAction: 5n, maxAmountLimit: 50n, usageLimit: 3n, validAfter: 1750000000, validUntil: 1750086400 };
    run(custom({ [field]: s[field] })); // ignored: sudo
  }
  run(custom({ functionSignature: "transfer(address,uint256)" }));
  run(custom({ functionSignature: rng.bytes(2) }));
  run(custom({ functionSignature: rng.bytes(32) }));
  {
    const c = custom();
    c.data.policies = [{ type: "spendingLimits", tokenLimits: [{ token: R.addr(), limit: 5n }] }];
    run(c);
  }
  run(custom({ chainIds: ["8453"] }));

  // batch: the reference's own output of 2 to 4 actions on one chain; and what it refuses
  const built = (chainId) => {
    const type = rng.pick([...ERC20_TYPES, "custom"]);
    const d = { ...base(), chainIds: [chainId], ...(type === "custom" ? { functionSignature: rng.bytes(4) } : sugar()) };
    return AJ.buildSessionAction({ type, data: d })[0];
  };
  for (let i = 0; i < 8; i++) {
    const chainId = rng.pick([1, 8453, 84532]);
    run({ type: "batch", data: { actions: Array.from({ length: rng.int(2, 4) }, () => built(chainId)) } });
  }
  run({ type: "batch", data: { actions: [built(1)] } });
  run({ type: "batch", data: { actions: [] } });
  run({ type: "batch", data: { actions: [built(1), built(8453)] } });
  {
    const a = built(8453);
    run({ type: "batch", data: { actions: [{ ...a, chainId: "8453" }, built(8453)] } }); // Number("8453") matches
  }
  run({ type: "swap", data: base() }); // not a type of buildSessionAction
  return cases;
}

export async function generate(rng) {
  const R = mkRand(rng);
  const policies = genBuildActionPolicy(rng, R);
  const args = genCalldataArgument(rng);
  const sessionActions = genBuildSessionAction(rng, R); // after the others: their files stay as they were
  return {
    "build_session_action.json": {
      description:
        "abstractjs buildSessionAction({type, data}) (import '@biconomy/abstractjs'). Case: {fn: 'buildSessionAction', params: " +
        "{type, data}, result: [{actions: [{actionTarget, actionTargetSelector, actionPolicies: [{policy, initData}]}], chainId}]}, " +
        "or {error: '<message>'} when the reference throws. params: bigint -> decimal string; chainIds, validAfter and validUntil " +
        "are JSON numbers (a string chain id is a mistake on purpose); a universal rule's comparisonValue is a bigint (decimal " +
        "string) or a Hex. Date.now() is frozen at " + FROZEN_NOW_MS + " ms while a case runs (the reference reads it when one " +
        "time bound is missing); every case we build passes both bounds or none. The inputs include one mistake each in many " +
        "cases (a recipient the reference drops, limits of 0, a lone time bound, an inverted window, a per-call limit above " +
        "the cap, sugar next to policies, another spending-limit token, sugar or a text selector on custom, string, missing " +
        "or repeated chain ids); the Python test asserts that we refuse those, naming the field (docs/reference-differences.md).",
      cases: sessionActions,
    },
    "build_action_policy.json": {
      description:
        "abstractjs buildActionPolicy(params) and calldataArgument(n) (import '@biconomy/abstractjs'). Case: {fn: 'buildActionPolicy', " +
        "params, result: {policy, initData}} or {fn: 'calldataArgument', n (a JSON number), result (decimal string)}; when the reference " +
        "throws, {error: '<message>'} instead of result. params are the reference's input with bigint -> decimal string and JS numbers " +
        "(validAfter, validUntil) as JSON numbers; a rule's comparisonValue is a bigint (decimal string) or a Hex (0x string). The inputs " +
        "include mistakes the reference encodes without a word (limits of 0, unknown conditions, usage without isLimited, misaligned " +
        "offsets, open-ended or inverted time frames, repeated tokens, fields of another type); the Python test asserts that we refuse " +
        "those, naming the field (docs/reference-differences.md).",
      cases: [...policies, ...args],
    },
  };
}
