"""Our Python around Rasa: settings, the process launcher, channels and the terminal chat."""
