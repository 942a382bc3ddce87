"""Process launchers and hosts: the top layer, which may import every other package.

`run` starts everything for `make run`; `action_server` hosts the actions; `rasa_main` is Rasa's
command line with our fixes; `shell` is the terminal chat; `demo_shop` is the host page.
Nothing imports this package.
"""
