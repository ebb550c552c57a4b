"""The notify service's HTTP API, one module per resource: partners'
subscriptions (``subscriptions``), the webhook delivery log
(``deliveries``) and each user's inbox (``inbox``)."""
