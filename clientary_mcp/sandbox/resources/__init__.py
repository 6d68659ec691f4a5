"""Endpoint handlers, one module per family of resources. Each exports `ROUTES`."""
