"""The agent console for support staff (a web app; `python -m console`, started by `make run`)."""
