"""Customers and what the CRM and listening tools tell us about them:
engagement events, mentions with sentiment, and social connections."""
