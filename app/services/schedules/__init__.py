"""Schedules: plans, tariffs and test-profile scenarios, stored as desired profiles."""
