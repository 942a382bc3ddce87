"""Input channels loaded by Rasa (these modules run inside the Rasa venv)."""
