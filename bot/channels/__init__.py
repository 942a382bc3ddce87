"""Input channels loaded by Rasa, in its venv (`render` and `deliveries` need no Rasa)."""
