"""The shop's records: ORM models, migrations, and the services that read and change them.

`models` and `migrations` define the tables; `db` builds engines and sessions; each service
module (customers, orders, money, accounts, addresses, catalogue, feedback, answers, outbox,
history) owns its units of work and returns the frozen views of `views`; `errors` names what
can go wrong, for the callers to map to an answer.
"""
