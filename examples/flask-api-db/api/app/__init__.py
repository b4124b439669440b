"""The example's API: a Flask app over PostgreSQL, configured only from environment variables."""
