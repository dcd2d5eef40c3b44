"""The ``hewston`` command: starts roles, ingests data, creates demo data."""
