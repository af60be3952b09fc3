// The unmodified reference SDK (abstractjs 1.2.3) pointed at our devnet chains, with no MEE node (only /info is
// answered, locally): it computes the account address through our factory, builds the prepareForPermissions
// instruction (install SmartSessions + addSafeSender), and grants a permission with typed data or personal sign,
// reading the SmartSessions nonce and session digest from our SmartSession contract.
//
//   node tests/reference/devnet_grant.mjs '<json args>'
// args: {rpcUrls: {chainId: url}, ownerKey, redeemer, meeVersion, counter, variant, actions?: [{chainId, target, selector}]}
// prints JSON: {accountAddress, prepareCallData: {chainId: hex}, sessionDetails (abstractjs stringify form),
//               offlineDigests: {chainId: hex} (viem hashStruct of the SignedSession the SDK signed)}
import {
  createMeeClient,
  getMEEVersion,
  getSudoPolicy,
  meeSessionActions,
  prepareInstallSmartSessions,
  stringify,
  toMultichainNexusAccount,
} from "@biconomy/abstractjs";
import { defineChain, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const SMART_SESSIONS = "0x00000000008bDABA73cD9815d79069c247Eb4bDA";
const MEE_URL = "http://mee.invalid/v1";
const args = JSON.parse(process.argv[2]);
const chainIds = Object.keys(args.rpcUrls).map(Number);

const chains = Object.fromEntries(
  chainIds.map((id) => [
    id,
    defineChain({
      id,
      name: `devnet-${id}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [args.rpcUrls[id]] } },
      // abstractjs requires Cancun for MEE >= 2.0.0 and checks the latest block for blob fields (anvil has them).
    }),
  ]),
);

// Only /info is asked for while creating the client; nothing else reaches "the node" in these flows. JSON-RPC to
// the devnet chains goes through untouched.
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init = {}) => {
  if (String(url) === `${MEE_URL}/info`) {
    return new Response(
      JSON.stringify({
        version: "1.4.0",
        node: "0x0000000000000000000000000000000000000001",
        supportedChains: chainIds.map((id) => ({ chainId: String(id), name: `devnet-${id}` })),
        supportedGasTokens: [],
        supported_wallet_providers: [],
      }),
      { status: 200, headers: { "content-type": "application/json" } },
    );
  }
  if (String(url).startsWith(MEE_URL)) throw new Error(`unexpected MEE call ${init.method ?? "GET"} ${url}`);
  return realFetch(url, init);
};

const signer = privateKeyToAccount(args.ownerKey);
const account = await toMultichainNexusAccount({
  signer,
  chainConfigurations: chainIds.map((id) => ({
    chain: chains[id],
    transport: http(args.rpcUrls[id]),
    version: getMEEVersion(args.meeVersion),
  })),
});
const client = await createMeeClient({ account, url: MEE_URL });

const prepareCallData = {};
for (const inx of await prepareInstallSmartSessions(client, SMART_SESSIONS)) {
  const deployment = account.deploymentOn(inx.chainId, true);
  prepareCallData[inx.chainId] = await deployment.encodeExecuteComposable(inx.calls);
}

const actions = chainIds.map((chainId) => ({
  chainId,
  actionTarget: args.counter,
  actionTargetSelector: "0xd09de08a",
  actionPolicies: [getSudoPolicy()],
}));
const sessions = meeSessionActions(client);
const grant = args.variant === "personal" ? sessions.grantPermissionPersonalSign : sessions.grantPermissionTypedDataSign;
const details = await grant({ redeemer: args.redeemer, actions });

console.log(
  JSON.stringify({
    accountAddress: account.addressOn(chainIds[0], true),
    prepareCallData,
    sessionDetails: JSON.parse(stringify(details)),
  }),
);
