"""Mercato's Grafana dashboards as code: the panel library and one module per dashboard."""
