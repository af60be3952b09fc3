// The TypeScript reference side of bench/encoding.py: times the reference functions on the inputs Python wrote.
// Usage: node bench/encoding_ref.mjs <inputs.json> <seconds-per-row>   (prints JSON {row: ops_per_second})
import { readFileSync } from "node:fs";
import { getPermissionId, hashChainSessions, encodeSmartSessionSignature } from "@rhinestone/module-sdk";
import { LibZip } from "solady";
import { hashStruct } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { GRANT_TYPES as types } from "../tests/vectors/gen/eip712_types.mjs";

const [, , inputsPath, secondsArg] = process.argv;
const inputs = JSON.parse(readFileSync(inputsPath, "utf8"));
const seconds = Number(secondsArg ?? "1");

const big = (s) => BigInt(s);

const fix = (cs) => cs.map((c) => ({ chainId: big(c.chainId), session: { ...c.session, nonce: big(c.session.nonce) } }));
const chainSessions1 = fix(inputs.chainSessions1x1);
const chainSessions4 = fix(inputs.chainSessions4x4);
const signedSession = chainSessions1[0].session;
const owner = privateKeyToAccount(inputs.ownerKey);
const enableData = inputs.enableSessionData;
enableData.enableSession.hashesAndChainIds = enableData.enableSession.hashesAndChainIds.map((d) => ({
  chainId: big(d.chainId),
  sessionDigest: d.sessionDigest,
}));

function time(fn) {
  // warm up, then count calls for `seconds`
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < limit) {
    for (let i = 0; i < 10; i++) fn();
    n += 10;
    elapsed = process.hrtime.bigint() - start;
  }
  return n / (Number(elapsed) / 1e9);
}

async function timeAsync(fn) {
  for (let i = 0; i < 5; i++) await fn();
  let n = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < limit) {
    await fn();
    n += 1;
    elapsed = process.hrtime.bigint() - start;
  }
  return n / (Number(elapsed) / 1e9);
}

const results = {
  permission_id: time(() => getPermissionId({ session: inputs.session })),
  session_digest: time(() => hashStruct({ types, primaryType: "SignedSession", data: signedSession })),
  hash_chain_sessions_1x1: time(() => hashChainSessions(chainSessions1)),
  hash_chain_sessions_4x4: time(() => hashChainSessions(chainSessions4)),
  flz_compress_enable_payload: time(() => LibZip.flzCompress(inputs.enablePayload)),
  grant_signature_typed_data: await timeAsync(() =>
    owner.signTypedData({
      domain: { name: "SmartSession", version: "1" },
      types,
      primaryType: "MultiChainSession",
      message: { sessionsAndChainIds: chainSessions1 },
    }),
  ),
  encode_enable_signature: time(() =>
    encodeSmartSessionSignature({
      mode: "0x02",
      permissionId: inputs.permissionId,
      signature: inputs.shortSignature,
      enableSessionData: enableData,
    }),
  ),
};
console.log(JSON.stringify(results));
