"""Chargebee: the API client (customers, events), its paging, auth and errors, and the
simulator that stands in for Chargebee in local runs and tests."""

from connectors.chargebee.client import ChargebeeClient, Page

__all__ = ["ChargebeeClient", "Page"]
