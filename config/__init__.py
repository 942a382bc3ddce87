"""The bottom layer: settings, support hours, SQL engine helpers and shared names.

Every other package may import this one; it imports nothing of ours (a contract in
pyproject.toml checks it), so both virtual environments can load it.
"""
