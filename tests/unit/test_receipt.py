"""The super-transaction status rules of spec §9.9."""

from __future__ import annotations

import pytest

from smartsessions.mee.receipt import summarize_receipt


def ops(*statuses: str, confirmed: bool = True, errors: dict[int, str] | None = None) -> list[dict[str, object]]:
    payment: dict[str, object] = {"executionStatus": "FAILED", "executionError": "payment is ignored"}
    out: list[dict[str, object]] = [payment]
    for k, status in enumerate(statuses, start=1):
        op: dict[str, object] = {"executionStatus": status, "isConfirmed": confirmed}
        if errors and k in errors:
            op["executionError"] = errors[k]
        out.append(op)
    return out


@pytest.mark.parametrize(
    ("statuses", "expected", "final"),
    [
        (("MINED_SUCCESS", "MINED_SUCCESS"), "MINED_SUCCESS", True),
        (("SUCCESS",), "MINED_SUCCESS", True),  # legacy spelling
        (("MINED_SUCCESS", "MINING"), "MINING", False),
        (("MINED_SUCCESS", "PENDING"), "PENDING", False),
        (("MINING", "PENDING"), "MINING", False),
        (("MINED_SUCCESS", "MINED_FAIL"), "MINED_FAIL", True),
        (("MINED_FAIL", "FAILED"), "FAILED", True),
        (("PENDING", "FAILED"), "FAILED", True),
    ],
)
def test_status_precedence(statuses: tuple[str, ...], expected: str, final: bool) -> None:
    summary = summarize_receipt(ops(*statuses))
    assert (summary.status, summary.is_final) == (expected, final)


def test_payment_and_cleanup_user_ops_do_not_count() -> None:
    user_ops = ops("MINED_SUCCESS")
    user_ops.append({"executionStatus": "FAILED", "isCleanUpUserOp": True})
    assert summarize_receipt(user_ops).status == "MINED_SUCCESS"


def test_confirmation_is_needed_unless_fast_block() -> None:
    unconfirmed = ops("MINED_SUCCESS", confirmed=False)
    assert summarize_receipt(unconfirmed).status == "PENDING"
    assert summarize_receipt(unconfirmed, mode="fast-block").status == "MINED_SUCCESS"


def test_failures_name_the_user_op() -> None:
    summary = summarize_receipt(ops("MINED_SUCCESS", "MINED_FAIL", errors={2: "PolicyViolation(...)"}))
    assert summary.failures == ((2, "PolicyViolation(...)"),)
    assert summary.error_message == "[2] PolicyViolation(...)"


def test_an_unconfirmed_mined_fail_is_not_final_unless_fast_block() -> None:
    """As the reference SDK: by default a MINED_FAIL counts once the node says its block is confirmed."""
    unconfirmed = ops("MINED_SUCCESS", "MINED_FAIL", confirmed=False)
    assert (summarize_receipt(unconfirmed).status, summarize_receipt(unconfirmed).is_final) == ("PENDING", False)
    fast = summarize_receipt(unconfirmed, mode="fast-block")
    assert (fast.status, fast.is_final) == ("MINED_FAIL", True)


def test_skipped_user_ops() -> None:
    """SKIPPED is no status the reference SDK's rules know: a clean-up userOp's is ignored, as every clean-up's;
    anywhere else the super-transaction reads as PENDING, not final, as the reference SDK reads it."""
    user_ops = ops("MINED_SUCCESS")
    user_ops.append({"executionStatus": "SKIPPED", "isCleanUpUserOp": True})
    assert summarize_receipt(user_ops).status == "MINED_SUCCESS"
    summary = summarize_receipt(ops("MINED_SUCCESS", "SKIPPED"))
    assert (summary.status, summary.is_final) == ("PENDING", False)
