"""Mercato partners: simulated carriers, tax and FX services with run-time fault injection.

Never routed by the gateway: it stands for systems outside the shop.
"""
