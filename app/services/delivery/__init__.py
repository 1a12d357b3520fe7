"""Delivery: desired profiles stored, delivered, reconciled and verified."""
