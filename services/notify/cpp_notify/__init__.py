"""Notifications service: Partner subscriptions, webhook and email deliveries, and user inboxes."""
