"""The support desk: handoffs from both sides, staff accounts, canned replies, supervision.

What the agent console and the handoff action call; built on `crm.records`.
"""
