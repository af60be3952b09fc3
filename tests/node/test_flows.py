"""Super-transactions through the node, end to end on the devnet: quote, sign, exec, receipts, and the chain state
they leave. The requests are built in Python the way the reference SDK builds them (spec §5, §6, §9.3)."""

from __future__ import annotations

from typing import Any

from smartsessions import ActionConfig, SessionDetails, get_sudo_policy, get_universal_action_policy
from smartsessions.account import Call, encode_execute
from smartsessions.account.calls import ComposableExecution, encode_execute_composable, to_composable_execution
from smartsessions.devnet.deploy import usdc_address
from smartsessions.encoding.abi import encode_function_call
from smartsessions.encoding.quote import (
    SuperTxEntry,
    encode_permit_quote_signature,
    get_permit_digest,
    get_super_tx_tree,
    verify_commitment,
)
from smartsessions.encoding.userop import get_mee_user_op_hash, get_user_op_hash
from smartsessions.policies import UNIVERSAL_ACTION_POLICY_ADDRESS, ParamCondition, ParamRule, ParamRules
from smartsessions.versions import MEE_VERSIONS, SMART_SESSIONS_ADDRESS, SPONSORSHIP_GAS_TANK_ADDRESS
from smartsessions.wire.mee import ExplorerResponse, GetQuotePayload, from_wire

from ..contracts.flows import (
    COUNTER,
    INCREMENT,
    counter_value,
    counterfactual,
    deployed_with_sessions_module,
    increment_call,
    install_smart_sessions_call,
)
from ..contracts.flows import Account as FlowAccount
from ..contracts.harness import ZERO, Chain, sign_raw
from .conftest import Node, SessionSetup
from .helpers import (
    Lanes,
    fund_usdc,
    grant,
    is_permission_enabled,
    mee_versions,
    payment_info,
    refusal,
    session_quote,
    signed,
    statuses,
    usdc_balance,
    user_op,
)

SET_NUMBER = bytes.fromhex("3fb5c1cb")


def check_hashes(quote: dict[str, object]) -> GetQuotePayload:
    """What a careful client can check (spec §9.4): every userOpHash from the returned fields, the MEE hashes, the
    Merkle root = quote.hash, and the commitment: the node's signature over it."""
    parsed = from_wire(GetQuotePayload, quote)
    for op in parsed.user_ops:
        assert bytes(get_user_op_hash(op.user_op.to_packed(), chain_id=op.chain_id)) == bytes(op.user_op_hash)
        mee = get_mee_user_op_hash(
            op.user_op_hash,
            lower_bound_timestamp=op.lower_bound_timestamp,
            upper_bound_timestamp=op.upper_bound_timestamp,
        )
        assert bytes(mee) == bytes(op.mee_user_op_hash)
        if op.user_op.sender != SPONSORSHIP_GAS_TANK_ADDRESS:  # the devnet's gas-tank entry is never submitted
            # the production node's layout: NodePaymaster ‖ 25,000 ‖ 50,000 ‖ refund mode (‖ premium mode), KEEP
            # when sponsored and USER ‖ FIXED otherwise; the paymaster's limits count in maxGasLimit
            pm = bytes(op.user_op.paymaster_and_data)
            assert pm[:52] == bytes.fromhex(
                "000000000000000000000000000000000000f33d" + f"{25_000:032x}" + f"{50_000:032x}"
            )
            refund_to = parsed.payment_info.gas_refund_address
            if parsed.payment_info.sponsored:
                assert pm[52:] == bytes.fromhex("170de002")  # KEEP
            elif refund_to is not None:
                assert pm[52:] == bytes.fromhex("170de0019ee4ce01" + refund_to[2:])  # DAPP ‖ FIXED ‖ receiver
            else:
                assert pm[52:] == bytes.fromhex("170de0009ee4ce01")  # USER ‖ FIXED
            limits = op.user_op.verification_gas_limit + op.user_op.call_gas_limit + op.user_op.pre_verification_gas
            assert op.max_gas_limit == limits + 25_000 + 50_000
    tree = get_super_tx_tree(
        [
            SuperTxEntry(
                user_op_hash=op.user_op_hash,
                lower_bound_timestamp=op.lower_bound_timestamp,
                upper_bound_timestamp=op.upper_bound_timestamp,
                short_encoding=op.short_encoding,
            )
            for op in parsed.user_ops
        ]
    )
    assert bytes(tree.root) == bytes(parsed.hash)
    assert verify_commitment(parsed)  # the node's own signature over the root (tests/node/test_commitment.py)
    return parsed


def test_session_super_transactions_enable_then_use(node: Node, chains: tuple[Chain, Chain]) -> None:
    """The grant flow: ENABLE_AND_USE (the payment userOp enables the permission), then USE; the counter moves once
    per super-transaction and the node is paid its quoted fee in USDC each time."""
    chain, _ = chains
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, owner)
    fund_usdc(chain, account.address, 10_000_000, owner)
    details = grant(
        [chain],
        account.address,
        owner,
        redeemer,
        [ActionConfig(chain_id=8453, action_target=COUNTER, action_target_selector=INCREMENT,
                      action_policies=[get_sudo_policy()])],
    )  # fmt: skip
    assert not is_permission_enabled(chain, details[0], account.address)
    lanes = Lanes()
    node_address = node.server.address

    for enable in (True, False):
        before, paid_before = counter_value(chain), usdc_balance(chain, node_address)
        request = session_quote([chain], account.address, details, [(chain, increment_call())], lanes, enable=enable)
        quote = node.client.quote(request)
        parsed = check_hashes(quote)
        assert [op.short_encoding for op in parsed.user_ops] == [True, True]
        assert [op.session_details.mode.hex for op in parsed.user_ops if op.session_details] == (
            ["0x02", "0x00"] if enable else ["0x00", "0x00"]
        )
        fee = parsed.payment_info.token_wei_amount
        assert 0 < fee < 5_000_000 and parsed.payment_info.token_amount == f"{fee / 10**6:f}".rstrip("0").rstrip(".")
        # itemised in USD as Biconomy's node does: all of it gas, the orchestration fee zero (as in its source)
        assert quote["paymentInfo"]["gasFee"] == quote["paymentInfo"]["tokenValue"] == parsed.payment_info.gas_fee
        assert quote["paymentInfo"]["orchestrationFee"] == "0"
        assert parsed.node == node_address and parsed.quote_type == "simple"

        eth_before = int(chain.rpc.request("eth_getBalance", [account.address, "latest"]), 16)
        quote_hash = node.client.execute(signed(quote, redeemer, request))
        receipt = node.client.wait(quote_hash, confirmed=True)
        assert statuses(receipt) == ["MINED_SUCCESS", "MINED_SUCCESS"]
        # refund mode USER: the node paymaster pays the gas and sends each userOp's unused gas back to its sender
        assert int(chain.rpc.request("eth_getBalance", [account.address, "latest"]), 16) > eth_before
        explorer = from_wire(ExplorerResponse, receipt)
        assert all(op.is_confirmed and op.execution_data for op in explorer.user_ops)
        assert explorer.user_ops[0].execution_data == explorer.user_ops[1].execution_data  # one bundle per chain
        assert counter_value(chain) == before + 1
        assert usdc_balance(chain, node_address) == paid_before + fee
        assert is_permission_enabled(chain, details[0], account.address)


def test_a_gas_refund_address_gets_the_refunds(node: Node, session: SessionSetup) -> None:
    """``paymentInfo.gasRefundAddress``: the node paymaster's refund mode is DAPP with that receiver, so the unused
    gas of every userOp goes there and not to the account."""
    chain = session.chain
    refund_to = chain.keys["bob"].address
    request = session.request()
    request["paymentInfo"]["gasRefundAddress"] = refund_to
    quote = node.client.quote(request)
    check_hashes(quote)
    account_eth, refund_eth = (
        int(chain.rpc.request("eth_getBalance", [a, "latest"]), 16) for a in (session.account, refund_to)
    )
    receipt = node.client.wait(node.client.execute(signed(quote, chain.keys["session_signer"], request)))
    assert statuses(receipt) == ["MINED_SUCCESS", "MINED_SUCCESS"]
    assert int(chain.rpc.request("eth_getBalance", [refund_to, "latest"]), 16) > refund_eth
    assert int(chain.rpc.request("eth_getBalance", [session.account, "latest"]), 16) == account_eth


def test_two_chains_in_one_grant_and_one_super_transaction(node: Node, chains: tuple[Chain, Chain]) -> None:
    """One owner signature enables the session on both chains: the payment userOp enables it on the fee chain, the
    first userOp on chain 10 on its own; one bundle per chain."""
    c8453, c10 = chains
    owner, redeemer = c8453.keys["owner"], c8453.keys["session_signer"]
    account = deployed_with_sessions_module(c8453, owner)
    assert deployed_with_sessions_module(c10, owner).address == account.address
    fund_usdc(c8453, account.address, 10_000_000, owner)
    actions = [
        ActionConfig(chain_id=c.chain_id, action_target=COUNTER, action_target_selector=INCREMENT,
                     action_policies=[get_sudo_policy()])
        for c in chains
    ]  # fmt: skip
    details = grant(list(chains), account.address, owner, redeemer, actions)
    lanes = Lanes()
    before = [counter_value(c) for c in chains]
    request = session_quote(
        list(chains), account.address, details, [(c8453, increment_call()), (c10, increment_call())], lanes, enable=True
    )
    quote = node.client.quote(request)
    check_hashes(quote)
    receipt = node.client.wait(node.client.execute(signed(quote, redeemer, request)))
    assert statuses(receipt) == ["MINED_SUCCESS"] * 3
    txs = [op["executionData"] for op in receipt["userOps"]]
    assert txs[0] == txs[1] != txs[2]
    assert [counter_value(c) for c in chains] == [b + 1 for b in before]
    assert all(is_permission_enabled(c, d, account.address) for c, d in zip(chains, details, strict=True))


def test_owner_super_transaction_deploys_the_account_and_installs_smart_sessions(
    node: Node, chains: tuple[Chain, Chain]
) -> None:
    """prepareForPermissions without a trigger: the owner signs; the payment userOp on 8453 deploys the account
    (initCode) and pays from its USDC, chain 10's userOp deploys it there; SmartSessions is installed and added as a
    safe sender on both chains."""
    c8453, c10 = chains
    owner = c8453.keys["owner"]
    accounts = [counterfactual(c, owner) for c in chains]
    account = accounts[0]
    assert accounts[1].address == account.address and not c8453.code(account.address)
    fund_usdc(c8453, account.address, 5_000_000, owner)
    lanes = Lanes()
    call = install_smart_sessions_call(account)
    request: dict[str, Any] = {
        "quoteType": "simple",
        "userOps": [
            user_op(c8453, account.address, call, lanes.nonce(c8453, account.address, ZERO)),
            user_op(c10, account.address, call, lanes.nonce(c10, account.address, ZERO), init_code=account.init_code),
        ],
        "paymentInfo": payment_info(
            c8453, account.address, lanes.nonce(c8453, account.address, ZERO), init_code=account.init_code
        ),
        "meeVersions": mee_versions([8453, 10]),
    }
    request["userOps"][0]["initCode"] = "0x" + account.init_code.hex()  # a second initCode on 8453: dropped
    quote = node.client.quote(request)
    parsed = check_hashes(quote)
    assert [op.short_encoding for op in parsed.user_ops] == [False, False, False]
    assert bytes(parsed.user_ops[0].user_op.init_code) == account.init_code
    # Unsimulated, the client's limits as Biconomy's node takes them: 150,000 verification gas (none sent, the
    # payment sends 150,000), plus 300,000 for the userOp that deploys; only the first userOp on a chain deploys.
    assert [bytes(op.user_op.init_code) == account.init_code for op in parsed.user_ops] == [True, False, True]
    assert [op.user_op.verification_gas_limit for op in parsed.user_ops] == [450_000, 150_000, 450_000]
    assert [op.user_op.pre_verification_gas for op in parsed.user_ops] == [30_000] * 3
    receipt = node.client.wait(node.client.execute(signed(quote, owner, request)))
    assert statuses(receipt) == ["MINED_SUCCESS"] * 3, [op.get("executionError") for op in receipt["userOps"]]
    k1 = MEE_VERSIONS["2.0.0"].validator_address
    for chain in chains:
        assert chain.code(account.address)
        assert chain.call(account.address, "isModuleInstalled(uint256,address,bytes)", [1, SMART_SESSIONS_ADDRESS, b""],
                          ["bool"])  # fmt: skip
        assert chain.call(k1, "isSafeSender(address,address)", [SMART_SESSIONS_ADDRESS, account.address], ["bool"])
    assert usdc_balance(c8453, account.address) == 5_000_000 - parsed.payment_info.token_wei_amount


def set_number(n: int) -> bytes:
    return bytes(encode_execute([Call(to=COUNTER, data=encode_function_call("setNumber(uint256)", [n]))]))


def set_number_session(chain: Chain) -> tuple[FlowAccount, list[SessionDetails]]:
    """A deployed account with 10 USDC, and a grant of setNumber(n) for n <= 10 (one universal-action rule) to the
    session signer, not yet enabled."""
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, owner)
    fund_usdc(chain, account.address, 10_000_000, owner)
    rule = ParamRule(condition=ParamCondition.LESS_THAN_OR_EQUAL, offset=0, is_limited=False, ref=10)
    policy = get_universal_action_policy(value_limit_per_use=0, param_rules=ParamRules(length=1, rules=(rule,)))
    details = grant(
        [chain], account.address, owner, redeemer,
        [ActionConfig(chain_id=8453, action_target=COUNTER, action_target_selector=SET_NUMBER,
                      action_policies=[policy])],
    )  # fmt: skip
    return account, details


def test_a_policy_that_refuses_the_call_refuses_the_quote(node: Node, chains: tuple[Chain, Chain]) -> None:
    """A universal-action rule allows setNumber(n) for n <= 10: setNumber(7) executes, setNumber(11) is refused at
    the quote with the decoded revert that names the policy, and nothing changes on chain."""
    chain, _ = chains
    redeemer = chain.keys["session_signer"]
    account, details = set_number_session(chain)
    lanes = Lanes()
    request = session_quote([chain], account.address, details, [(chain, set_number(7))], lanes, enable=True)
    quote = node.client.quote(request)
    assert statuses(node.client.wait(node.client.execute(signed(quote, redeemer, request)))) == ["MINED_SUCCESS"] * 2
    assert counter_value(chain) == 7

    request = session_quote([chain], account.address, details, [(chain, set_number(11))], lanes, enable=False)
    status, answer = node.client.post("/quote", request)
    assert status == 400
    error = refusal(
        answer,
        "POLICY_VIOLATION",
        chainId=8453,
        userOpIndex=1,
        field="userOps[0]",
        aaCode="AA23",
        revertError="PolicyViolation",
        permissionId="0x" + bytes(details[0].permission_id).hex(),
        policy=UNIVERSAL_ACTION_POLICY_ADDRESS,
        policyName="UniActionPolicy",
        target=COUNTER,
        selector="0x" + SET_NUMBER.hex(),
        rule={"index": 0, "condition": "LESS_THAN_OR_EQUAL", "offset": 0, "ref": "10", "value": "11"},
    )
    pid = "0x" + bytes(details[0].permission_id).hex()
    assert error.startswith(  # the cause in words, for a client that reads no codes; then the simulation's
        f"userOps[0] (chain 8453): the UniActionPolicy {UNIVERSAL_ACTION_POLICY_ADDRESS} of permission {pid} refuses "
        f"{COUNTER}.0x{SET_NUMBER.hex()}: rule 0: the argument at offset 0 must be <= 10, got 11 (refused in "
        "simulation: AA23 reverted: PolicyViolation("
    ), error
    assert f"permissionId=0x{bytes(details[0].permission_id).hex()}" in error
    assert "UniActionPolicy" in error and "0x0000000000714cf48fcf88a0bfba70d313415032" in error.lower()
    assert counter_value(chain) == 7


def test_an_enable_needing_more_verification_gas_than_asked_goes_through(
    node: Node, chains: tuple[Chain, Chain]
) -> None:
    """The client's verificationGasLimit is a floor, not a cap: the node sizes the limit from its own simulation.
    (Production's enable of one universal rule plus the fee action needs more than the reference SDK's fixed
    1,000,000; ours needs less, so the client here asks for far less than the enable needs.)"""
    chain, _ = chains
    redeemer = chain.keys["session_signer"]
    account, details = set_number_session(chain)
    request = session_quote([chain], account.address, details, [(chain, set_number(7))], Lanes(), enable=True)
    asked = 150_000
    request["paymentInfo"]["verificationGasLimit"] = str(asked)  # the userOp that carries the enable
    quote = node.client.quote(request)
    enable_op = quote["userOps"][0]["userOp"]
    assert int(enable_op["verificationGasLimit"]) > 3 * asked  # the enable alone needs several times that
    receipt = node.client.wait(node.client.execute(signed(quote, redeemer, request)))
    assert statuses(receipt) == ["MINED_SUCCESS"] * 2
    assert counter_value(chain) == 7 and is_permission_enabled(chain, details[0], account.address)


def test_a_call_the_session_has_no_action_for_refuses_the_quote(node: Node, session: SessionSetup) -> None:
    """The session allows Counter.increment only: a setNumber call has no policies in it (SmartSessions'
    NoPoliciesSet), refused at the quote naming the permission and the call."""
    chain = session.chain
    request = session_quote([chain], session.account, session.details, [(chain, set_number(3))], Lanes(), enable=True)
    status, answer = node.client.post("/quote", request)
    assert status == 400
    error = refusal(
        answer,
        "ACTION_NOT_PERMITTED",
        chainId=8453,
        userOpIndex=1,
        field="userOps[0]",
        aaCode="AA23",
        revertError="NoPoliciesSet",
        permissionId="0x" + bytes(session.details[0].permission_id).hex(),
        target=COUNTER,
        selector="0x" + SET_NUMBER.hex(),
    )
    pid = "0x" + bytes(session.details[0].permission_id).hex()
    assert error.startswith(
        f"userOps[0] (chain 8453): permission {pid} grants nothing for {COUNTER}.0x{SET_NUMBER.hex()}: the session "
        "has no action for it (refused in simulation: AA23 reverted: NoPoliciesSet("
    ), error


def test_an_enable_signed_by_another_key_refuses_the_quote(node: Node, chains: tuple[Chain, Chain]) -> None:
    """A grant signed by someone other than the account's owner: SmartSessions refuses the enable signature
    (InvalidEnableSignature) when the payment userOp enables the session, at the quote."""
    chain, _ = chains
    owner, alice, redeemer = chain.keys["owner"], chain.keys["alice"], chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, owner)
    fund_usdc(chain, account.address, 10_000_000, owner)
    action = ActionConfig(
        chain_id=8453, action_target=COUNTER, action_target_selector=INCREMENT, action_policies=[get_sudo_policy()]
    )
    details = grant([chain], account.address, alice, redeemer, [action])
    request = session_quote([chain], account.address, details, [(chain, increment_call())], Lanes(), enable=True)
    status, answer = node.client.post("/quote", request)
    assert status == 400
    error = refusal(
        answer,
        "ENABLE_SIGNATURE_INVALID",
        chainId=8453,
        userOpIndex=0,
        field="paymentInfo",
        aaCode="AA23",
        revertError="InvalidEnableSignature",
        account=account.address,
    )
    assert error.startswith("paymentInfo (chain 8453): refused in simulation: AA23 reverted: InvalidEnableSignature(")


def test_an_account_that_is_not_deployed_refuses_the_quote(node: Node, session: SessionSetup) -> None:
    """A session request for an address with no account there and no initCode: the EntryPoint's AA20, a validation
    failure with no more specific code."""
    request = session.request()
    nowhere = "0x" + "6b" * 20
    request["paymentInfo"]["sender"] = request["userOps"][0]["sender"] = nowhere
    status, answer = node.client.post("/quote", request)
    assert status == 400
    error = refusal(
        answer,
        "USER_OP_VALIDATION_FAILED",
        chainId=8453,
        userOpIndex=0,
        field="paymentInfo",
        aaCode="AA20",
        reason="AA20 account not deployed",
    )
    assert error == "paymentInfo (chain 8453): refused in simulation: AA20 account not deployed"


def test_a_fee_the_account_cannot_pay_is_refused(node: Node, chains: tuple[Chain, Chain]) -> None:
    chain, _ = chains
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, owner)
    fund_usdc(chain, account.address, 1, owner)  # 0.000001 USDC
    details = grant(
        [chain], account.address, owner, redeemer,
        [ActionConfig(chain_id=8453, action_target=COUNTER, action_target_selector=INCREMENT,
                      action_policies=[get_sudo_policy()])],
    )  # fmt: skip
    request = session_quote([chain], account.address, details, [(chain, increment_call())], Lanes(), enable=True)
    status, answer = node.client.post("/quote", request)
    assert status == 400
    error = refusal(
        answer,
        "INSUFFICIENT_BALANCE",
        field="paymentInfo",
        chainId=8453,
        holder=account.address,
        token=usdc_address(8453),
        balance="1",
    )
    assert int(answer["facts"]["required"]) == int(answer["facts"]["fee"]) > 1
    assert error.startswith(f"paymentInfo: {account.address} holds 1 base units of the fee token"), answer
    assert usdc_address(8453) in answer["error"]


def test_permit_fusion_deploys_and_prepares_paid_by_the_eoa(node: Node, chains: tuple[Chain, Chain]) -> None:
    """prepareForPermissions with a USDC permit trigger (``/quote-permit``): the owner's EOA signs one EIP-2612 permit
    (deadline = quote hash) for the trigger amount plus the fee; the payment userOp pulls the fee from the EOA
    (transferFrom) after the validator applied the permit, the first userOp pulls the trigger amount into the
    account and installs SmartSessions; chain 10 gets the same through the permit layout without the permit call."""
    c8453, c10 = chains
    owner = c8453.keys["owner"]
    account = counterfactual(c8453, owner)
    counterfactual(c10, owner)
    usdc = usdc_address(8453)
    amount = 10_000_000
    lanes = Lanes()
    pull = to_composable_execution(
        to=usdc, data=encode_function_call("transferFrom(address,address,uint256)", [owner.address, account.address,
                                                                                      amount])
    )  # fmt: skip
    install = install_smart_sessions_call(account)
    with_pull = bytes(encode_execute_composable([pull, *_composable_executions(account)]))
    request: dict[str, Any] = {
        "quoteType": "permit",
        "userOps": [
            user_op(c8453, account.address, with_pull, lanes.nonce(c8453, account.address, ZERO)),
            user_op(c10, account.address, install, lanes.nonce(c10, account.address, ZERO),
                    init_code=account.init_code),
        ],
        "paymentInfo": payment_info(
            c8453, account.address, lanes.nonce(c8453, account.address, ZERO), init_code=account.init_code,
            eoa=owner.address,
        ),
        "meeVersions": mee_versions([8453, 10]),
        "trigger": {"tokenAddress": usdc, "chainId": 8453, "gasLimit": "75000", "amount": str(amount)},
    }  # fmt: skip
    quote = node.client.quote(request, path="/quote-permit")
    parsed = check_hashes(quote)
    assert parsed.quote_type == "permit"
    fee = parsed.payment_info.token_wei_amount
    approved = amount + fee  # what the SDK adds to the trigger before signing the permit
    eoa_before, node_before = usdc_balance(c8453, owner.address), usdc_balance(c8453, node.server.address)
    domain = c8453.call(usdc, "DOMAIN_SEPARATOR()", [], ["bytes32"])
    permit_nonce = c8453.call(usdc, "nonces(address)", [owner.address], ["uint256"])

    def exec_body(value: int, trigger_amount: int | None = None) -> dict[str, Any]:
        digest = get_permit_digest(
            domain_separator=domain, owner=owner.address, spender=account.address, value=value, nonce=permit_nonce,
            deadline=int(quote["hash"], 16),
        )  # fmt: skip
        signature = encode_permit_quote_signature(
            token=usdc, spender=account.address, domain_separator=domain, amount=value, chain_id=8453,
            nonce=permit_nonce, signature=sign_raw(owner, bytes(digest)),
        )  # fmt: skip
        return {
            **quote,
            "signature": "0x" + bytes(signature).hex(),
            "meeVersions": request["meeVersions"],
            "isEIP712TrustedSponsorshipSupported": True,
            "trigger": {**request["trigger"], "amount": str(value if trigger_amount is None else trigger_amount)},
        }

    # a permit that forgot the fee: the trigger sent at /exec has it (the SDKs add it), the permit does not
    status, answer = node.client.post("/exec", exec_body(amount, trigger_amount=approved))
    assert status == 400
    assert (
        refusal(answer, "TRIGGER_AMOUNT_TOO_LOW", field="signature", amount=str(amount), required=str(approved))
        == f"signature: the permit allows {amount}, but the trigger amount and the fee need {approved}"
    )
    # the fee is pulled from the EOA the payment userOp names (the Merkle root pins it): paymentInfo.eoa must agree
    alice = c8453.keys["alice"].address
    status, answer = node.client.post(
        "/exec", {**exec_body(approved), "paymentInfo": {**quote["paymentInfo"], "eoa": alice}}
    )
    assert status == 400
    assert refusal(answer, "QUOTE_CHANGED", field="paymentInfo.eoa", sent=alice, expected=owner.address) == (
        f"paymentInfo.eoa: is {alice}, but the payment userOp pulls the fee from {owner.address}"
    ), answer
    body = exec_body(approved)
    receipt = node.client.wait(node.client.execute(body))
    assert statuses(receipt) == ["MINED_SUCCESS"] * 3, [op.get("executionError") for op in receipt["userOps"]]
    assert usdc_balance(c8453, account.address) == amount
    assert usdc_balance(c8453, owner.address) == eoa_before - approved
    assert usdc_balance(c8453, node.server.address) == node_before + fee
    assert c8453.call(usdc, "allowance(address,address)", [owner.address, account.address], ["uint256"]) == 0
    for chain in chains:
        assert chain.call(account.address, "isModuleInstalled(uint256,address,bytes)", [1, SMART_SESSIONS_ADDRESS, b""],
                          ["bool"])  # fmt: skip


def _composable_executions(account: FlowAccount) -> list[ComposableExecution]:
    return [
        to_composable_execution(to=account.address, data=encode_function_call("installModule(uint256,address,bytes)",
                                                                              [1, SMART_SESSIONS_ADDRESS, b""])),
        to_composable_execution(to=MEE_VERSIONS["2.0.0"].validator_address,
                                data=encode_function_call("addSafeSender(address)", [SMART_SESSIONS_ADDRESS])),
    ]  # fmt: skip


def test_a_sponsored_super_transaction_uses_the_virtual_gas_tank(node: Node, chains: tuple[Chain, Chain]) -> None:
    """Sponsorship on the devnet: userOps[0] is the gas-tank entry the SDK expects (hashed into the tree, never
    submitted, reported MINED_SUCCESS without a transaction); the session's first userOp enables the permission and
    nobody pays a fee."""
    chain, _ = chains
    owner, redeemer = chain.keys["owner"], chain.keys["session_signer"]
    account = deployed_with_sessions_module(chain, owner)
    details = grant(
        [chain], account.address, owner, redeemer,
        [ActionConfig(chain_id=8453, action_target=COUNTER, action_target_selector=INCREMENT,
                      action_policies=[get_sudo_policy()])],
    )  # fmt: skip
    lanes = Lanes()
    request: dict[str, Any] = {
        "quoteType": "simple",
        "userOps": [
            user_op(chain, account.address, increment_call(), lanes.nonce(chain, account.address,
                    SMART_SESSIONS_ADDRESS), details=details[0], mode="0x02", verification_gas_limit=1_000_000),
        ],
        "paymentInfo": {
            "sponsored": True, "sender": SPONSORSHIP_GAS_TANK_ADDRESS, "token": usdc_address(8453), "nonce": "0",
            "callGasLimit": "75000", "verificationGasLimit": "150000", "chainId": "8453",
            "sponsorshipUrl": "https://network.biconomy.io/v1",
        },
        "meeVersions": mee_versions([8453]),
    }  # fmt: skip
    quote = node.client.quote(request)
    parsed = check_hashes(quote)
    assert parsed.user_ops[0].user_op.sender == SPONSORSHIP_GAS_TANK_ADDRESS
    assert parsed.user_ops[0].session_details is None and not parsed.user_ops[0].short_encoding
    before, node_usdc = counter_value(chain), usdc_balance(chain, node.server.address)
    receipt = node.client.wait(node.client.execute(signed(quote, redeemer, request)))
    assert statuses(receipt) == ["MINED_SUCCESS", "MINED_SUCCESS"]
    assert "executionData" not in receipt["userOps"][0] and receipt["userOps"][1]["executionData"]
    assert counter_value(chain) == before + 1
    assert usdc_balance(chain, node.server.address) == node_usdc
    assert is_permission_enabled(chain, details[0], account.address)
