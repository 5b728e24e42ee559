"""Allow `python -m wordcrowd`."""

from wordcrowd.cli import main

main()
