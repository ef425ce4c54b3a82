"""The claim state machine: which transitions exist, who drives them, and what a settlement does.

States::

    due ──approve──> approved ──pay──> paid ──(settled below paid)──> recovery_due ──recover──> recovered
     │  <──(amount changed)──┘            │  <──(settled again)─────────┘
     ├──reject──> rejected ──reinstate──> due        (reject also from approved)
     └──(no longer triggered)──> withdrawn ──(triggered again)──> due
    paid ──(settled above paid: a top-up)──> due

- People drive ``approve``, ``pay``, ``reject``, ``reinstate`` and ``recover``; a reason is
  required to reject, reinstate, dispute and clear a dispute.
- Settlement runs drive the rest: a claim's *settled* amount is what the latest run says
  is owed for its payment id; with *net paid* = paid - recovered, the state follows from
  the two amounts (``after_settlement``). A rejected claim stays rejected: a settlement
  never proposes it as due again (its settled amount is still recorded).
- ``disputed`` is a flag beside the state, raised and cleared with a reason by any party;
  a disputed claim cannot be approved, paid or recovered until the dispute is cleared.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pbr_rules.errors import PbrError

STATES = ("due", "approved", "paid", "rejected", "withdrawn", "recovery_due", "recovered")
ACTIONS = ("approve", "pay", "reject", "reinstate", "recover", "dispute", "clear")
REASON_REQUIRED = frozenset({"reject", "reinstate", "dispute", "clear"})

# action -> the states it may start from
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "approve": ("due",),
    "pay": ("approved",),
    "reject": ("due", "approved"),
    "reinstate": ("rejected",),
    "recover": ("recovery_due",),
}
BLOCKED_BY_DISPUTE = frozenset({"approve", "pay", "recover"})

# who may take each action through the API and the web workspace (the CLI acts as its local user):
# the municipality whose contract it is approves; the fund pays, rejects, reinstates and
# records recoveries; either raises or clears a dispute; the auditor takes none.
ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "approve": ("municipality",),
    "pay": ("fund",),
    "reject": ("fund",),
    "reinstate": ("fund",),
    "recover": ("fund",),
    "dispute": ("fund", "municipality"),
}


@dataclass(frozen=True)
class ClaimState:
    """A claim after its latest event; amounts in integer øre."""

    state: str
    disputed: bool
    settled: int
    paid: int
    recovered: int

    @property
    def net_paid(self) -> int:
        return self.paid - self.recovered

    @property
    def outstanding(self) -> int:
        """Positive: still to pay; negative: to be paid back."""
        return self.settled - self.net_paid


class TransitionRefused(PbrError):
    """The action is not allowed from the claim's current state (the message names it)."""

    def __init__(self, payment_id: str, state: ClaimState, action: str, why: str):
        self.payment_id, self.state, self.action = payment_id, state, action
        super().__init__(f"claim {payment_id} is {state.state}{' and disputed' if state.disputed else ''}: cannot {action} it ({why})")


def apply_action(payment_id: str, current: ClaimState, action: str) -> tuple[ClaimState, int]:
    """The state after a person's action, and the money it moves (øre); or TransitionRefused."""
    if action == "dispute":
        if current.disputed:
            raise TransitionRefused(payment_id, current, action, "it is already disputed; clear the dispute first")
        return replace(current, disputed=True), 0
    if action == "clear":
        if not current.disputed:
            raise TransitionRefused(payment_id, current, action, "it is not disputed")
        return replace(current, disputed=False), 0
    allowed = ALLOWED_FROM[action]
    if current.state not in allowed:
        return _refuse(payment_id, current, action, f"{action} applies to a claim that is {' or '.join(allowed)}")
    if current.disputed and action in BLOCKED_BY_DISPUTE:
        return _refuse(payment_id, current, action, "the dispute must be cleared first")
    if action == "approve":
        return replace(current, state="approved"), 0
    if action == "pay":
        amount = current.outstanding  # > 0 for every approved claim (see after_settlement)
        return replace(current, state="paid", paid=current.paid + amount), amount
    if action == "reject":
        return replace(current, state="rejected"), 0
    if action == "reinstate":
        if current.outstanding <= 0:
            return _refuse(payment_id, current, action, "nothing is due on it now: its settled amount is already paid")
        return replace(current, state="due"), 0
    # recover: the over-payment comes back
    amount = -current.outstanding
    after = replace(current, recovered=current.recovered + amount)
    return replace(after, state="recovered" if after.settled == 0 else "paid"), amount


def _refuse(payment_id, current, action, why):
    raise TransitionRefused(payment_id, current, action, why)


def after_settlement(current: ClaimState | None, settled: int) -> ClaimState | None:
    """The claim after a settlement run says ``settled`` øre are owed for it (None: no change).

    A new claim starts ``due``; a rejected claim keeps its state; otherwise the state follows
    from the settled amount against the net amount paid.
    """
    if current is None:
        return ClaimState("due", False, settled, 0, 0) if settled > 0 else None
    if current.state == "rejected" and settled >= current.net_paid:
        # stays rejected; only its settled amount is noted
        return replace(current, settled=settled) if settled != current.settled else None
    after = replace(current, settled=settled)
    net = after.net_paid
    if settled > net:
        # unchanged amount keeps an approval; a changed one needs approving again
        state = "approved" if current.state == "approved" and settled == current.settled else "due"
    elif settled < net:
        state = "recovery_due"
    elif net > 0:
        state = "paid"
    else:  # nothing owed, nothing paid
        state = "withdrawn" if current.state in ("due", "approved", "withdrawn") else "recovered"
    after = replace(after, state=state)
    return None if after == current else after
