"""Alembic environment and revisions of the customer-records schema."""
