"""Serving the networks: the loaded models, request bodies and forms, arrays on the wire, errors, security
headers and memory settings, what requests cost and who is admitted (``costs``, ``admission``), and the
HTTP server's own limits (``protocol``)."""
