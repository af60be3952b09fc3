// viem's `multicall` and the reference SDK's permit preparation against the devnet's Multicall3.
//
//   node tests/reference/permit_multicall.mjs '<json args>'
// args: {rpcUrl, chainId, multicall3, usdc, ownerKey, spender, deadline}
// prints JSON:
//   multicall: the five permit reads the SDK makes (nonces, name, version, DOMAIN_SEPARATOR, eip712Domain) plus a
//              call that reverts, through viem `multicall` (allowFailure: true), as {status, result | error}
//   strict:    the same batch with allowFailure: false -> {threw, message}
//   sdk:       abstractjs `prepareSignablePermitQuotePayload` (the step that silently falls back to on-chain mode
//              when Multicall3 is missing): {fallbackToOnchainMode, domain, message, signature} with the owner's
//              EIP-712 signature over the permit it prepared
//   sdkWithoutMulticall: the same with a chain that names no Multicall3 -> {fallbackToOnchainMode}
import { prepareSignablePermitQuotePayload, TokenWithPermitAbi } from "@biconomy/abstractjs";
import { createWalletClient, defineChain, http, parseAbi } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { multicall } from "viem/actions";

const args = JSON.parse(process.argv[2]);
const owner = privateKeyToAccount(args.ownerKey);

function devnetChain(withMulticall) {
  return defineChain({
    id: args.chainId,
    name: `devnet-${args.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [args.rpcUrl] } },
    ...(withMulticall ? { contracts: { multicall3: { address: args.multicall3 } } } : {}),
  });
}

const client = createWalletClient({ account: owner, chain: devnetChain(true), transport: http(args.rpcUrl) });
const bare = createWalletClient({ account: owner, chain: devnetChain(false), transport: http(args.rpcUrl) });

const reads = [
  { address: args.usdc, abi: TokenWithPermitAbi, functionName: "nonces", args: [owner.address] },
  { address: args.usdc, abi: TokenWithPermitAbi, functionName: "name" },
  { address: args.usdc, abi: TokenWithPermitAbi, functionName: "version" },
  { address: args.usdc, abi: TokenWithPermitAbi, functionName: "DOMAIN_SEPARATOR" },
  { address: args.usdc, abi: TokenWithPermitAbi, functionName: "eip712Domain" },
  // More than anyone holds: USDC reverts, and the batch must carry on.
  {
    address: args.usdc,
    abi: parseAbi(["function transfer(address to, uint256 amount) returns (bool)"]),
    functionName: "transfer",
    args: [owner.address, 2n ** 255n],
  },
];

const show = (value) => JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));

const loose = await multicall(client, { contracts: reads });
let strict;
try {
  await multicall(client, { contracts: reads, allowFailure: false });
  strict = { threw: false };
} catch (error) {
  strict = { threw: true, message: error.shortMessage ?? error.message };
}

const fusionQuote = {
  quote: { hash: args.deadline },
  trigger: { tokenAddress: args.usdc, chainId: args.chainId, amount: 10_000_000n },
};
const prepared = await prepareSignablePermitQuotePayload(fusionQuote, owner.address, args.spender, client);
let sdk = { fallbackToOnchainMode: Boolean(prepared.fallbackToOnchainMode) };
if (!prepared.fallbackToOnchainMode) {
  const signature = await client.signTypedData({ ...prepared.signablePayload, account: owner });
  sdk = { ...sdk, domain: prepared.signablePayload.domain, message: prepared.signablePayload.message, signature };
}
// Silence the SDK's own console warnings for the fallback run: they would go to stdout.
const { warn, info } = console;
console.warn = console.info = () => {};
const fallback = await prepareSignablePermitQuotePayload(fusionQuote, owner.address, args.spender, bare);
console.warn = warn;
console.info = info;

console.log(
  JSON.stringify(
    show({
      multicall: loose.map((r) =>
        r.status === "success" ? { status: r.status, result: r.result } : { status: r.status, error: r.error?.shortMessage ?? String(r.error) },
      ),
      strict,
      sdk,
      sdkWithoutMulticall: { fallbackToOnchainMode: Boolean(fallback.fallbackToOnchainMode) },
    }),
  ),
);
