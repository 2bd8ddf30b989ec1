"""`python -m tests.benchmark`: orders through the system and through a raw aiokafka + asyncpg baseline."""
