"""The api's routers, one per file."""
