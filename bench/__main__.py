"""`python -m bench` (`make bench`): wrk against a native stack under telemetry configurations."""

from bench.run import main

main()
