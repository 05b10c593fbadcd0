"""Tenants: each vendor's white-labelled portal, found by the request's host."""
