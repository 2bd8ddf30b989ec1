"""Gendan's shared library: contracts, topics and the messaging and database plumbing."""
