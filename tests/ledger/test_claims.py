"""The claim state machine on its own: every transition, worked by hand in øre."""

from __future__ import annotations

import pytest

from pbr_rules.ledger import ClaimState, TransitionRefused, after_settlement, apply_action

DUE = ClaimState("due", False, 500_000, 0, 0)  # DKK 5,000 settled, nothing paid


def test_a_new_payment_starts_due_and_a_zero_line_makes_no_claim():
    assert after_settlement(None, 500_000) == DUE
    assert after_settlement(None, 0) is None


def test_approve_then_pay_moves_exactly_the_outstanding_amount():
    approved, moved = apply_action("c", DUE, "approve")
    assert (approved.state, moved) == ("approved", 0)
    paid, moved = apply_action("c", approved, "pay")
    assert paid == ClaimState("paid", False, 500_000, 500_000, 0) and moved == 500_000


@pytest.mark.parametrize(
    ("state", "action", "message"),
    [
        ("due", "pay", "claim c is due: cannot pay it (pay applies to a claim that is approved)"),
        ("paid", "approve", "claim c is paid: cannot approve it (approve applies to a claim that is due)"),
        ("paid", "reject", "claim c is paid: cannot reject it (reject applies to a claim that is due or approved)"),
        ("due", "reinstate", "claim c is due: cannot reinstate it (reinstate applies to a claim that is rejected)"),
        ("due", "recover", "claim c is due: cannot recover it (recover applies to a claim that is recovery_due)"),
    ],
)
def test_transitions_not_allowed_are_refused_naming_the_state(state, action, message):
    with pytest.raises(TransitionRefused) as exc:
        apply_action("c", ClaimState(state, False, 500_000, 500_000 if state == "paid" else 0, 0), action)
    assert str(exc.value) == message


def test_a_disputed_claim_cannot_be_approved_until_cleared():
    disputed, _ = apply_action("c", DUE, "dispute")
    with pytest.raises(TransitionRefused, match=r"is due and disputed: cannot approve it \(the dispute must be cleared first\)"):
        apply_action("c", disputed, "approve")
    with pytest.raises(TransitionRefused, match="already disputed"):
        apply_action("c", disputed, "dispute")
    cleared, _ = apply_action("c", disputed, "clear")
    assert apply_action("c", cleared, "approve")[0].state == "approved"


def test_settlements_move_claims_by_settled_against_net_paid():
    paid = ClaimState("paid", False, 500_000, 500_000, 0)
    assert after_settlement(paid, 500_000) is None  # nothing changed
    assert after_settlement(paid, 300_000) == ClaimState("recovery_due", False, 300_000, 500_000, 0)  # 2,000 to come back
    assert after_settlement(paid, 800_000) == ClaimState("due", False, 800_000, 500_000, 0)  # a 3,000 top-up
    approved = ClaimState("approved", False, 500_000, 0, 0)
    assert after_settlement(approved, 600_000).state == "due"  # a changed amount is approved again
    assert after_settlement(approved, 0).state == "withdrawn"


def test_a_partial_recovery_leaves_the_claim_paid_at_its_new_amount():
    over = ClaimState("recovery_due", False, 300_000, 500_000, 0)
    after, moved = apply_action("c", over, "recover")
    assert after == ClaimState("paid", False, 300_000, 500_000, 200_000) and moved == 200_000


def test_a_rejected_claim_stays_rejected_unless_it_was_over_paid():
    rejected = ClaimState("rejected", False, 800_000, 500_000, 0)  # a top-up was rejected; 5,000 was paid before
    assert after_settlement(rejected, 900_000) == ClaimState("rejected", False, 900_000, 500_000, 0)
    assert after_settlement(rejected, 0) == ClaimState("recovery_due", False, 0, 500_000, 0)
    with pytest.raises(TransitionRefused, match="nothing is due on it now"):
        apply_action("c", ClaimState("rejected", False, 500_000, 500_000, 0), "reinstate")
