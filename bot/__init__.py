"""Rasa plug-ins only: input channels, NLU components, and the tracker and lock stores.

Rasa loads these in its own venv by the dotted paths in config.yml, endpoints.yml and
credentials.yml. Launchers live in `serve/`, settings in `config/`.
"""
