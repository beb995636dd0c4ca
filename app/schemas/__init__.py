"""The API's typed contract (pydantic), one module per resource. Field names here are the names clients
rely on."""
