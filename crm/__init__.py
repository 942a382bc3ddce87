"""Customer records for the Larkspur assistant: models, migrations, services and demo data.

Nothing here imports Rasa: actions call the services in :mod:`crm.services`, which own the
database sessions, so the dialogue layer never touches SQL or ORM objects.
Importing this package does no database work; engines are built by :mod:`crm.db` on request.
"""
