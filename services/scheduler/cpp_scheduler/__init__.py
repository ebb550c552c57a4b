"""Scheduler service: Deadlines from statutory and local timescales, on the authority's working days."""
