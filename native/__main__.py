"""`python -m native up|down|ps|logs|config`: run Mercato as local processes under supervisord."""

from native.cli import main

main()
