"""Several nodes on one PostgreSQL: requests between them, calls routed to the owner."""
