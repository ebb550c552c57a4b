"""Documents service: The plan as documents people can read: professional and family versions, HTML and PDF."""
