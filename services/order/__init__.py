"""Order service: intake, the order tracking table and timeline, closing the order."""
