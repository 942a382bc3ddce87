"""The shop's records and what is built on them, by subject; nothing here imports Rasa.

- `records`: the ORM models, migrations and the services over them (customers, orders, money,
  accounts, feedback, ...). One unit of work per public method; frozen views out.
- `desk`: the support staff's side: handoffs, staff accounts, canned replies, supervision and
  the customer panel.
- `insights`: the trained and measured models and figures: analytics, knowledge gaps,
  propensity and its scores, recommendations, ticket routing, sentiment.
- `tools`: what builds or loads data: the demo data, the CSV import and its messy fixtures,
  the purchase simulation.

A subject imports only those listed after it (tools > insights > desk > records; a contract in
pyproject.toml checks it). Importing a package does no database work; engines are built by
`crm.records.db` on request. `python -m crm` is the command line over all of it.
"""
