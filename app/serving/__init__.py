"""Serving the networks: the loaded models, request bodies and forms, arrays on the wire, errors, security
headers and memory settings."""
