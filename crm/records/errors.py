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


class OrderNotEditable(CRMError):
    """The order's items can no longer change: it has shipped, arrived or been cancelled."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the items of an order in status {status!r} cannot be changed")
        self.status = status


class OrderWouldBeEmpty(CRMError):
    """A change would leave an order without items; cancelling it is the way to do that."""

    def __init__(self) -> None:
        super().__init__("an order needs at least one item; cancel it instead")


class ItemNotInOrder(CRMError):
    """The product to remove is not a line of the order."""

    def __init__(self, sku: str) -> None:
        super().__init__("that product is not in the order")
        self.sku = sku


class InvalidQuantity(CRMError):
    """A quantity outside the range one order line may hold."""

    def __init__(self, quantity: object, *, low: int, high: int) -> None:
        super().__init__(f"quantity must be a whole number from {low} to {high}")
        self.quantity = quantity
        self.low = low
        self.high = high


class OutOfStock(CRMError):
    """Fewer units of the product are in stock than the order asks for (0: sold out).

    Stock is the shop's own figure (``products.stock``, kept by its stock system or an import);
    the agent reads it and never changes it. Products whose stock is not tracked never raise.
    """

    def __init__(self, sku: str, name: str, available: int) -> None:
        super().__init__("not enough in stock")
        self.sku = sku
        self.name = name
        self.available = available


class ProductNotFound(CRMError):
    """No product has this SKU.

    The message does not repeat the SKU, which may be text the customer typed (messages end up
    in logs); the attribute keeps it for the caller.
    """

    def __init__(self, sku: str) -> None:
        super().__init__("no product with that SKU")
        self.sku = sku


class NoDefaultAddress(CRMError):
    """The customer has no default delivery address to send a new order to."""

    def __init__(self) -> None:
        super().__init__("the customer has no default delivery address")


class UnknownDeliveryMethod(CRMError):
    """A delivery method name that the shop's delivery rules do not know."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown delivery method {name!r}")
        self.name = name


class DeliveryMethodUnavailable(CRMError):
    """The delivery method does not serve the destination (e.g. Panther outside the UK)."""

    def __init__(self, method: str, country: str) -> None:
        super().__init__(f"{method} does not deliver to {country!r}")
        self.method = method
        self.country = country


class InvoiceNotFound(CRMError):
    """No invoice for this customer's order: missing, not theirs, or not paid yet.

    All three cases raise this one error with one message, like :class:`OrderNotFound`.
    """

    def __init__(self) -> None:
        super().__init__("invoice not found for this customer")


class RefundNotAllowed(CRMError):
    """A refund cannot be requested; ``reason`` is one of ``RefundEligibility.reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"refund not allowed: {reason}")
        self.reason = reason


class StaffError(CRMError):
    """Base of the errors about support-staff accounts and console sign-in (crm/desk/staff.py)."""


class InvalidStaffDetails(StaffError):
    """A staff member's details cannot be used; the message says which rule failed.

    Messages name the field and the rule, never the value, so a password cannot reach a log.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)


class StaffExists(StaffError):
    """A staff member with this email address already exists."""

    def __init__(self) -> None:
        super().__init__("a staff member with this email address already exists")


class InvalidCredentials(StaffError):
    """Sign-in refused: unknown email, wrong password or deactivated member.

    All three raise this one error with one message, so the console cannot be used to learn
    which email addresses belong to staff.
    """

    def __init__(self) -> None:
        super().__init__("email address or password is incorrect")


class TooManyAttempts(StaffError):
    """Too many failed sign-ins for this email or from this client; ``retry_after_s`` says when.

    Raised before the password is checked, so guessing cannot continue while it applies.
    """

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed sign-in attempts; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class HandoffError(CRMError):
    """Base of the errors of the staff side of handoffs (crm/desk/handoffs.py)."""


class HandoffNotFound(HandoffError):
    """No such handoff, or one the staff member may not see (the two are not told apart)."""

    def __init__(self) -> None:
        super().__init__("handoff not found")


class HandoffTaken(HandoffError):
    """The conversation is no longer waiting: someone claimed it, or it was closed."""

    def __init__(self) -> None:
        super().__init__("handoff already taken")


class HandoffNotYours(HandoffError):
    """Only the staff member holding a conversation may answer in it or hand it back."""

    def __init__(self) -> None:
        super().__init__("handoff held by someone else")


class HandoffClosed(HandoffError):
    """The conversation is closed: there is nobody to pass it to any more."""

    def __init__(self) -> None:
        super().__init__("handoff already closed")


class HandoffUnchanged(HandoffError):
    """A transfer to where the conversation already is (its holder, or the team it waits in)."""

    def __init__(self) -> None:
        super().__init__("the handoff is already there")


class StaffNotAvailable(HandoffError):
    """The colleague cannot take the conversation: unknown, deactivated, or outside its team.

    All three cases raise this one error, so the console tells nothing about who exists.
    """

    def __init__(self) -> None:
        super().__init__("staff member not available for this handoff")


class UnknownTeam(HandoffError):
    """A team that is not one of the support teams (``STAFF_TEAMS``)."""

    def __init__(self) -> None:
        super().__init__("no such team")


class InvalidOutcome(HandoffError):
    """Staff close a conversation as resolved or not resolved; nothing else is an outcome."""

    def __init__(self) -> None:
        super().__init__("outcome must be resolved or not_resolved")


class InvalidNote(HandoffError):
    """A private note that is empty or too long; the message gives the rule, not the text."""

    def __init__(self, low: int, high: int) -> None:
        super().__init__(f"a note has {low} to {high} characters")


class CannedResponseError(CRMError):
    """Base of the errors about canned responses (crm/desk/canned.py)."""


class CannedNotAllowed(CannedResponseError):
    """Only supervisors and admins add or remove canned responses."""

    def __init__(self) -> None:
        super().__init__("only supervisors and admins manage canned responses")


class InvalidCannedResponse(CannedResponseError):
    """A canned response's title, text or team breaks a rule; the message names which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class CannedResponseExists(CannedResponseError):
    """An active canned response already has this title."""

    def __init__(self) -> None:
        super().__init__("a canned response with this title already exists")


class CannedResponseNotFound(CannedResponseError):
    """No active canned response with this id."""

    def __init__(self) -> None:
        super().__init__("canned response not found")


class SupervisorsOnly(StaffError):
    """Only supervisors and admins see the team's figures (crm/desk/supervision.py)."""

    def __init__(self) -> None:
        super().__init__("only supervisors and admins see the supervisor view")
