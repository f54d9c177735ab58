"""What the Mercato shop's services agree on, beside the platform (`mercato_shared`).

The facts of this shop that more than one service needs: the countries it ships to, the shape
of an order line, the demonstration catalogue both catalog's and orders' seeds draw from, and
the client of the partners simulation's admin API that tests use (`testing`). A fork for
another business replaces this package and keeps the platform.
"""
