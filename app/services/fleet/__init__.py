"""The fleet: stations, transactions, id tags, nodes, leases, job runs and commands."""
