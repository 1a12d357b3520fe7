"""Load management: circuits, their measurements and the sessions' shares."""
