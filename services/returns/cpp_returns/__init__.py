"""The returns service: statutory returns and managers' figures, as read models of the platform's events."""
