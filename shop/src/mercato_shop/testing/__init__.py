"""What this shop's tests share: the client of the partners simulation's admin API."""
