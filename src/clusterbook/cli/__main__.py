"""``python -m clusterbook.cli``: the same as the ``clusterbook`` command."""

from clusterbook.cli.main import main

main()
