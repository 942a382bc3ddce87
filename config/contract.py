"""Names that the channels and the actions agree on, kept apart from both. Imports nothing.

The widget channel (bot/channels/widget.py) checks a host site's signed identity and passes
the customer it vouches for to the actions in the message metadata under `SIGNED_IN_CUSTOMER`;
the actions (actions/base.py) read it from there. No channel copies this key from a client,
so only a checked identity can carry it.
"""

SIGNED_IN_CUSTOMER = "signed_in_customer_id"
