"""What builds or loads data, never used while serving customers.

The demo data, the CSV import with its cleaning rules and messy fixtures, the seeded purchase
simulation that propensity is trained on, and the command lines over them.
"""
