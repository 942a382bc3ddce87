"""Names that Rasa's side (channels) and our services agree on, kept apart from both.

Imports nothing, so the Rasa venv and the action-server venv read the same values.

The widget channel (bot/channels/widget.py) checks a host site's signed identity and passes
the customer it vouches for to the actions in the message metadata under `SIGNED_IN_CUSTOMER`;
the actions (actions/base.py) read it from there. No channel copies this key from a client,
so only a checked identity can carry it.

The staff teams are the queues a conversation can wait in: the records check them
(crm/records/models.py) and the staff relay channel accepts a transfer to one of them
(bot/channels/staff.py). `GENERAL_TEAM` takes what no specialist team owns.
"""

SIGNED_IN_CUSTOMER = "signed_in_customer_id"

GENERAL_TEAM = "general"
STAFF_TEAMS = (GENERAL_TEAM, "billing", "shipping", "technical", "account")
