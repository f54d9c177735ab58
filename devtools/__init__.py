"""Development tools that are not tests: used by the test suites and by `make bench`."""
