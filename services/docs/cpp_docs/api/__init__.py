"""The docs service's HTTP API, one module per resource: the documents and
their files (``documents``) and the render jobs (``jobs``)."""
