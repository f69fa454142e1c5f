"""The head-office admin: stores, managers and mappings, tokens, the audit, the catalogue.

Importing this package registers every model admin with the site (see
``retail.admin_site``), which Django's admin autodiscovery does at start-up.
"""

from retail.admin import audit, catalogue, managers, stores, tokens

__all__ = ["audit", "catalogue", "managers", "stores", "tokens"]
