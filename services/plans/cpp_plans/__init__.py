"""Plans service: children, cases, conferences, plans and their versions."""
