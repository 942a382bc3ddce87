"""Sentence embeddings for the NLU: the local MiniLM exported to ONNX, and its Rasa featurizer."""
