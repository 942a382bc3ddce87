"""The rasa-sdk action server package: one thin module per skill.

rasa-sdk registers every concrete `Action` subclass found in this package; shared base classes
are abstract so they are not registered.
"""
