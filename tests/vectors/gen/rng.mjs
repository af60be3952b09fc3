// Deterministic randomness for the vector generator, so that a rerun with the same seed writes the same files.
// keccak256 in counter mode over the seed: good enough spread for test inputs, and trivially reproducible.
import { keccak256, toHex, concatHex, hexToBigInt } from "viem";

export function makeRng(seed) {
  let counter = 0n;
  const next32 = () => {
    counter += 1n;
    return keccak256(concatHex([toHex(BigInt(seed), { size: 32 }), toHex(counter, { size: 32 })]));
  };
  const rng = {
    /** `n` random bytes as a lower-case 0x hex string. */
    bytes(n) {
      let out = "";
      while (out.length < 2 * n) out += next32().slice(2);
      return "0x" + out.slice(0, 2 * n);
    },
    /** A uniformly random bigint in [0, 2^bits). */
    bits(bits) {
      const nbytes = Math.ceil(bits / 8);
      const v = hexToBigInt(rng.bytes(nbytes));
      return v & ((1n << BigInt(bits)) - 1n);
    },
    /** A random integer in [lo, hi] (inclusive, small ranges). */
    int(lo, hi) {
      return lo + Number(rng.bits(32) % BigInt(hi - lo + 1));
    },
    pick(arr) {
      return arr[rng.int(0, arr.length - 1)];
    },
    bool() {
      return rng.int(0, 1) === 1;
    },
    address() {
      return rng.bytes(20);
    },
    /** Fill a Uint8Array in place: used to make crypto.getRandomValues deterministic inside the reference SDK. */
    fill(array) {
      const hex = rng.bytes(array.length).slice(2);
      for (let i = 0; i < array.length; i++) array[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
      return array;
    },
  };
  return rng;
}
