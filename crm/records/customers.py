"""Who a customer is: verification by the email on the account and a postcode of theirs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from crm.records.addresses import normalise_postcode
from crm.records.history import remember_conversation
from crm.records.models import (
    Address,
    Customer,
    Order,
    normalise_email,
)
from crm.records.views import CustomerRef


def _normalised_postcode_sql(column: Any) -> ColumnElement[str]:
    """Build the SQL twin of :func:`crm.records.addresses.normalise_postcode` for a column."""
    return func.replace(func.upper(column), " ", "")


class CustomerService:
    """Identify customers without revealing whether an email has an account."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def verify(
        self,
        email: str,
        postcode: str,
        *,
        conversation_id: str | None = None,
        channel: str = "unknown",
    ) -> CustomerRef | None:
        """Return the customer owning ``email`` if ``postcode`` is one of theirs, else ``None``.

        A postcode counts if it is on a saved address or was the destination of one of the
        customer's orders (people move); an erased account never verifies. Unknown email and
        wrong postcode run the same single
        query and both return ``None``, so the answer does not tell which part was wrong.
        With ``conversation_id``, a success is recorded in the same unit of work as one of the
        customer's conversations (once per conversation), for their history in the console.
        """
        wanted_email = normalise_email(email)
        wanted_postcode = normalise_postcode(postcode)
        if not wanted_email or not wanted_postcode:
            return None
        on_address = exists().where(
            Address.customer_id == Customer.id,
            _normalised_postcode_sql(Address.postcode) == wanted_postcode,
        )
        on_order = exists().where(
            Order.customer_id == Customer.id,
            _normalised_postcode_sql(Order.ship_postcode) == wanted_postcode,
        )
        with self._sessions.begin() as session:
            row = session.execute(
                select(Customer.id, Customer.first_name).where(
                    Customer.email == wanted_email,
                    # An erased account keeps no identity that could be proven.
                    Customer.status != "erased",
                    or_(on_address, on_order),
                )
            ).one_or_none()
            if row is not None and conversation_id:
                remember_conversation(session, row.id, conversation_id, channel)
        return CustomerRef(id=row.id, first_name=row.first_name) if row else None
