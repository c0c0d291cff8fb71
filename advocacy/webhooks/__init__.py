"""Webhooks: the transactional outbox, subscriptions, Standard Webhooks signing, delivery."""
