"""The knowledge base: ingest -> chunk -> embed -> index -> retrieve, with no Rasa imports."""
