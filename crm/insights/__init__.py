"""Trained and measured models and figures over the records.

Analytics and knowledge gaps, purchase propensity and its scores, recommendations, ticket
routing, sentiment: what the console shows and the actions use.
"""
