"""Run the Alembic migrations programmatically, so no ``alembic.ini`` is needed anywhere.

The URL travels in ``Config.attributes`` rather than the ini-style main options, because
configparser would try to interpolate ``%`` characters in URL-encoded passwords.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """Return an Alembic config pointing at ``crm/records/migrations`` and the database ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` (``alembic upgrade head``)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at ``url`` down to ``revision`` (``"base"`` removes everything)."""
    command.downgrade(alembic_config(url), revision)
