"""Staff acting on the customer's records from the console's customer panel: refunds.

A refund issued by staff goes through the very :meth:`RefundService.request_refund` the
assistant's refund skill uses, so the rule (what is refundable, how much), the row lock against
doubles and the audit row are the same; only the actor differs (``staff:<id>``). Who may act is
decided here, not in the web layer: only the member *holding* the conversation, and only on the
orders of the customer verified in it (any other order is reported as not found, like a missing
one). Nothing here knows about Rasa or the web framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm.desk.handoffs import HandoffDesk
from crm.desk.staff import StaffMember
from crm.records.errors import OrderNotFound
from crm.records.models import Order
from crm.records.money import RefundService, RefundView
from crm.records.views import format_money

# Orders whose refund the panel offers: the newest delivered ones (only a delivered order can
# be refunded, and only for 30 days, so older ones are never eligible).
REFUNDABLE_LIMIT: Final = 10


@dataclass(frozen=True)
class RefundableOrder:
    """An order of the customer that can be refunded now, for how much and until when."""

    number: str
    amount_pence: int
    amount: str
    deadline: date | None


class PanelRefunds:
    """Which of the customer's orders can be refunded, and refunds by the holding member."""

    def __init__(
        self, sessions: sessionmaker[Session], desk: HandoffDesk, refunds: RefundService
    ) -> None:
        self._sessions = sessions
        self._desk = desk
        self._refunds = refunds

    def refundable(self, reference: str, member: StaffMember) -> tuple[RefundableOrder, ...]:
        """The verified customer's orders that can be refunded now (any member who may see it).

        Eligibility is :meth:`RefundService.eligibility`, the assistant's rule; empty when no
        customer was verified in the conversation.
        """
        entry = self._desk.entry(reference, member)
        if entry.customer_id is None:
            return ()
        with self._sessions() as session:
            orders = session.execute(
                select(Order.number, Order.currency)
                .where(Order.customer_id == entry.customer_id, Order.status == "delivered")
                .order_by(Order.delivered_at.desc(), Order.id.desc())
                .limit(REFUNDABLE_LIMIT)
            ).all()
        found = []
        for number, currency in orders:
            assessment = self._refunds.eligibility(number, entry.customer_id)
            if assessment.eligible:
                found.append(
                    RefundableOrder(
                        number=number,
                        amount_pence=assessment.amount_pence,
                        amount=format_money(assessment.amount_pence, currency),
                        deadline=assessment.deadline,
                    )
                )
        return tuple(found)

    def issue(
        self, reference: str, member: StaffMember, order_number: str, reason: str
    ) -> RefundView:
        """Refund the verified customer's order, as the member holding the conversation.

        Raises ``HandoffNotFound`` (a conversation `member` may not see), ``HandoffNotYours``
        (one they do not hold), ``OrderNotFound`` (no verified customer, or not their order)
        and ``RefundNotAllowed`` (the rule refuses, e.g. ``already_refunded``). The holder check
        and the refund are two units of work: the refund's own is the one that must be atomic
        (it locks the order), and a member who stops holding the conversation a moment earlier
        was still entitled to act on it.
        """
        entry = self._desk.holding(reference, member)
        if entry.customer_id is None:
            raise OrderNotFound()
        return self._refunds.request_refund(
            order_number,
            entry.customer_id,
            reason=reason,
            actor=f"staff:{member.id}",
            conversation_id=entry.conversation_id,
        )
