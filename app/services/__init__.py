"""Use cases that tie the database, the smart-charging core and the chargers together."""
