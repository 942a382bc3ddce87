"""Named exceptions of the records layer, so the action server can map each to a response."""

from __future__ import annotations


class CRMError(Exception):
    """Base of every error the records layer raises on purpose."""


class OrderNotFound(CRMError):
    """The order does not exist or belongs to another customer.

    Both cases raise this one error with one message, so a caller cannot learn that an order
    number exists by trying numbers that are not theirs.
    """

    def __init__(self) -> None:
        super().__init__("order not found for this customer")


class OrderNotCancellable(CRMError):
    """The order has moved past the point where it can be cancelled."""

    def __init__(self, status: str) -> None:
        super().__init__(f"an order in status {status!r} cannot be cancelled")
        self.status = status


class AddressChangeNotAllowed(CRMError):
    """The order has left the warehouse, so its delivery address is fixed."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the address of an order in status {status!r} cannot be changed")
        self.status = status


class AuditLogIsAppendOnly(CRMError):
    """Raised when code tries to change or remove an audit record.

    The audit log is evidence of what the assistant and staff did; rewriting it would defeat
    its purpose, so it only ever grows.
    """

    def __init__(self, operation: str) -> None:
        super().__init__(f"audit_log is append-only: {operation} refused")
        self.operation = operation
