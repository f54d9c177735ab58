"""`python -m native up|down|ps|logs`: run Mercato as local processes under supervisord."""

from native.stack import main

main()
