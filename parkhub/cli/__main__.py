"""`python -m parkhub.cli`: the `parkhub` command."""

from parkhub.cli import main

main()
