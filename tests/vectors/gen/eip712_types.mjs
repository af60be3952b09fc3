// The EIP-712 types of a grant (spec §3.6): the table abstractjs passes to signTypedData and module-sdk's
// hashChainSessions hashes with. Shared by the generators and the benchmark; pure.mjs checks on every case that
// hashing with it equals module-sdk hashChainSessions, so a wrong entry here cannot go unnoticed.
const policyData = [
  { name: "policy", type: "address" },
  { name: "initData", type: "bytes" },
];

export const GRANT_TYPES = {
  PolicyData: policyData,
  ActionData: [
    { name: "actionTargetSelector", type: "bytes4" },
    { name: "actionTarget", type: "address" },
    { name: "actionPolicies", type: "PolicyData[]" },
  ],
  ERC7739Context: [
    { name: "appDomainSeparator", type: "bytes32" },
    { name: "contentName", type: "string[]" },
  ],
  ERC7739Data: [
    { name: "allowedERC7739Content", type: "ERC7739Context[]" },
    { name: "erc1271Policies", type: "PolicyData[]" },
  ],
  SignedPermissions: [
    { name: "permitGenericPolicy", type: "bool" },
    { name: "permitAdminAccess", type: "bool" },
    { name: "ignoreSecurityAttestations", type: "bool" },
    { name: "permitERC4337Paymaster", type: "bool" },
    { name: "userOpPolicies", type: "PolicyData[]" },
    { name: "erc7739Policies", type: "ERC7739Data" },
    { name: "actions", type: "ActionData[]" },
  ],
  SignedSession: [
    { name: "account", type: "address" },
    { name: "permissions", type: "SignedPermissions" },
    { name: "sessionValidator", type: "address" },
    { name: "sessionValidatorInitData", type: "bytes" },
    { name: "salt", type: "bytes32" },
    { name: "smartSession", type: "address" },
    { name: "nonce", type: "uint256" },
  ],
  ChainSession: [
    { name: "chainId", type: "uint64" },
    { name: "session", type: "SignedSession" },
  ],
  MultiChainSession: [{ name: "sessionsAndChainIds", type: "ChainSession[]" }],
};

export const GRANT_DOMAIN = { name: "SmartSession", version: "1" };
